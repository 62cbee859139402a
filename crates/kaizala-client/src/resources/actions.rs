//! Actions of a group, and responses to them.

use futures_util::Stream;
use kaizala_core::Error;
use kaizala_core::ops::actions::{CreateAction, GetAction, ListActions};
use kaizala_core::ops::responses::PostActionResponse;
use kaizala_types::actions::{
    ActionDetails, ActionSummary, ActionType, AnnouncementBody, CreateActionRequest,
    CreateActionResponse, CustomActionBody, JobBody, LetsMeetBody, MediaBody, PollBody, SurveyBody,
};
use kaizala_types::media::{MediaKind, MediaResource};
use kaizala_types::responses::{ActionResponseRequest, ActionResponseResponse};
use kaizala_types::{ActionId, ActionPackageId, GroupId};

use crate::Client;

/// `client.group(id).actions()`.
#[derive(Debug, Clone)]
pub struct Actions {
    pub(crate) client: Client,
    pub(crate) group_id: GroupId,
}

impl Actions {
    /// Posts any action as described.
    pub async fn create(
        &self,
        request: CreateActionRequest,
    ) -> Result<CreateActionResponse, Error> {
        self.client
            .execute(&CreateAction {
                group_id: self.group_id.clone(),
                request,
            })
            .await
    }

    /// Posts a survey.
    pub async fn create_survey(&self, survey: SurveyBody) -> Result<CreateActionResponse, Error> {
        self.create(CreateActionRequest::survey(survey)).await
    }

    /// Posts a job.
    pub async fn create_job(&self, job: JobBody) -> Result<CreateActionResponse, Error> {
        self.create(CreateActionRequest::job(job)).await
    }

    /// Posts a poll.
    pub async fn create_poll(&self, poll: PollBody) -> Result<CreateActionResponse, Error> {
        self.create(CreateActionRequest::poll(poll)).await
    }

    /// Posts a meeting request.
    pub async fn create_lets_meet(
        &self,
        meeting: LetsMeetBody,
    ) -> Result<CreateActionResponse, Error> {
        self.create(CreateActionRequest::lets_meet(meeting)).await
    }

    /// Posts an announcement.
    pub async fn create_announcement(
        &self,
        announcement: AnnouncementBody,
    ) -> Result<CreateActionResponse, Error> {
        self.create(CreateActionRequest::announcement(announcement))
            .await
    }

    /// Posts an uploaded file (see [`crate::resources::media::Media`]).
    pub async fn post_media(
        &self,
        kind: MediaKind,
        resource: MediaResource,
        caption: Option<String>,
    ) -> Result<CreateActionResponse, Error> {
        let mut body = MediaBody::new(resource);
        body.caption = caption;
        self.create(CreateActionRequest::media(kind, body)).await
    }

    /// Posts an instance of a custom action package.
    pub async fn create_custom(
        &self,
        package: impl Into<ActionPackageId>,
        body: CustomActionBody,
    ) -> Result<CreateActionResponse, Error> {
        self.create(CreateActionRequest::custom(package, body))
            .await
    }

    /// Every action of a type, oldest first, fetched a page at a time.
    pub fn list(
        &self,
        action_type: ActionType,
    ) -> impl Stream<Item = Result<ActionSummary, Error>> + Send + 'static {
        self.list_since(action_type, None)
    }

    /// Actions of a type from `from_millis` (epoch milliseconds) on.
    pub fn list_since(
        &self,
        action_type: ActionType,
        from_millis: Option<i64>,
    ) -> impl Stream<Item = Result<ActionSummary, Error>> + Send + 'static {
        let first = ListActions {
            group_id: self.group_id.clone(),
            action_type,
            from_date: from_millis,
            count: None,
        };
        crate::paging::items(self.client.clone(), first)
    }

    /// One action; with `details`, its individual responses too. An answer
    /// in the list shape of the documentation's sample is read from its
    /// first action ([`ActionDetails::into_canonical`]).
    pub async fn get(
        &self,
        action: impl Into<ActionId>,
        details: bool,
    ) -> Result<ActionDetails, Error> {
        let call = GetAction {
            group_id: self.group_id.clone(),
            action_id: action.into(),
            get_details: Some(details),
        };
        Ok(self.client.execute(&call).await?.into_canonical())
    }

    /// Responds to an action (or updates a response: see
    /// [`ActionResponseRequest::updating`]).
    pub async fn respond(
        &self,
        action: impl Into<ActionId>,
        request: ActionResponseRequest,
    ) -> Result<ActionResponseResponse, Error> {
        self.client
            .execute(&PostActionResponse {
                group_id: self.group_id.clone(),
                action_id: action.into(),
                request,
            })
            .await
    }
}
