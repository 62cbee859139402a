//! Groups, and the handle on one group.

use kaizala_core::Error;
use kaizala_core::ops::groups::{CreateGroup, GetGroup, ListGroups};
use kaizala_types::GroupId;
use kaizala_types::groups::{CreateGroupRequest, CreateGroupResponse, GroupInfo, GroupList};

use super::actions::Actions;
use super::members::Members;
use super::messages::Messages;
use super::reactions::Reactions;
use super::subgroups::SubGroups;
use super::subscribers::Subscribers;
use crate::Client;

/// `client.groups()`: listing and creating groups.
#[derive(Debug, Clone)]
pub struct Groups {
    pub(crate) client: Client,
}

impl Groups {
    /// The groups the token can reach (`GET /groups`).
    pub async fn list(&self) -> Result<Vec<GroupInfo>, Error> {
        Ok(self.client.execute(&ListGroups::default()).await?.groups)
    }

    /// The groups with every detail (`showDetail`), sub-groups included when
    /// `all_levels` (`fetchAllGroups`).
    pub async fn list_detailed(&self, all_levels: bool) -> Result<GroupList, Error> {
        self.client
            .execute(&ListGroups {
                show_detail: Some(true),
                fetch_all_groups: Some(all_levels),
            })
            .await
    }

    /// Creates a group (`POST /groups`).
    pub async fn create(&self, request: CreateGroupRequest) -> Result<CreateGroupResponse, Error> {
        self.client.execute(&CreateGroup { request }).await
    }
}

/// `client.group(id)`: one group and what is in it.
#[derive(Debug, Clone)]
pub struct Group {
    pub(crate) client: Client,
    pub(crate) id: GroupId,
}

impl Group {
    /// The group's id.
    pub fn id(&self) -> &GroupId {
        &self.id
    }

    /// The group's details (`GET /groups/{groupId}`).
    pub async fn get(&self) -> Result<GroupInfo, Error> {
        let list = self
            .client
            .execute(&GetGroup {
                group_id: self.id.clone(),
            })
            .await?;
        list.groups.into_iter().next().ok_or_else(|| {
            Error::new(kaizala_core::ErrorKind::NotFound {
                message: Some("the answer listed no group".into()),
            })
        })
    }

    /// The group's sub-groups: list, create, attach, detach.
    pub fn sub_groups(&self) -> SubGroups {
        SubGroups {
            client: self.client.clone(),
            group_id: self.id.clone(),
        }
    }

    /// The group's members: list, add, remove.
    pub fn members(&self) -> Members {
        Members {
            client: self.client.clone(),
            group_id: self.id.clone(),
        }
    }

    /// Its subscribers (managed public groups).
    pub fn subscribers(&self) -> Subscribers {
        Subscribers {
            client: self.client.clone(),
            group_id: self.id.clone(),
        }
    }

    /// Sends text messages to the group.
    pub fn messages(&self) -> Messages {
        Messages {
            client: self.client.clone(),
            group_id: self.id.clone(),
        }
    }

    /// Its actions (surveys, jobs, polls, …, media posts) and their responses.
    pub fn actions(&self) -> Actions {
        Actions {
            client: self.client.clone(),
            group_id: self.id.clone(),
        }
    }

    /// Reactions to its actions.
    pub fn reactions(&self) -> Reactions {
        Reactions {
            client: self.client.clone(),
            group_id: self.id.clone(),
        }
    }
}
