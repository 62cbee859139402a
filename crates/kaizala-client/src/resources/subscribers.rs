//! Subscribers of a managed public group.

use futures_util::Stream;
use kaizala_core::Error;
use kaizala_core::ops::subscribers::{AddSubscribers, ListSubscribers, RemoveSubscribers};
use kaizala_types::subscribers::{
    ListSubscribersRequest, Subscriber, SubscriberChangeResponse, SubscriberList,
    SubscribersRequest,
};
use kaizala_types::{GroupId, PhoneNumber};

use crate::Client;

/// `client.group(id).subscribers()`.
#[derive(Debug, Clone)]
pub struct Subscribers {
    pub(crate) client: Client,
    pub(crate) group_id: GroupId,
}

impl Subscribers {
    /// Every subscriber, fetched 50 at a time as the stream is read.
    pub fn list(&self) -> impl Stream<Item = Result<Subscriber, Error>> + Send + 'static {
        let request = ListSubscribersRequest {
            count: Some(ListSubscribersRequest::MAX_COUNT),
            ..Default::default()
        };
        crate::paging::items(
            self.client.clone(),
            ListSubscribers {
                group_id: self.group_id.clone(),
                request,
            },
        )
    }

    /// One page (with the cursor of the next, if any).
    pub async fn page(&self, request: ListSubscribersRequest) -> Result<SubscriberList, Error> {
        self.client
            .execute(&ListSubscribers {
                group_id: self.group_id.clone(),
                request,
            })
            .await
    }

    /// Adds subscribers by phone number; the answer says, per number, whether it was added.
    pub async fn add(
        &self,
        phones: impl IntoIterator<Item = PhoneNumber>,
    ) -> Result<SubscriberChangeResponse, Error> {
        let request = SubscribersRequest::new(phones);
        self.client
            .execute(&AddSubscribers {
                group_id: self.group_id.clone(),
                request,
            })
            .await
    }

    /// Removes subscribers by phone number.
    pub async fn remove(
        &self,
        phones: impl IntoIterator<Item = PhoneNumber>,
    ) -> Result<SubscriberChangeResponse, Error> {
        let request = SubscribersRequest::new(phones);
        self.client
            .execute(&RemoveSubscribers {
                group_id: self.group_id.clone(),
                request,
            })
            .await
    }
}
