//! Members of a group.

use kaizala_core::Error;
use kaizala_core::ops::members::{AddMembers, ListMembers, RemoveMember};
use kaizala_types::common::ResultResponse;
use kaizala_types::members::{AddMembersRequest, Member};
use kaizala_types::{GroupId, PhoneNumber, UserId};

use crate::Client;

/// `client.group(id).members()`.
#[derive(Debug, Clone)]
pub struct Members {
    pub(crate) client: Client,
    pub(crate) group_id: GroupId,
}

impl Members {
    /// Lists the group's members.
    pub async fn list(&self) -> Result<Vec<Member>, Error> {
        Ok(self
            .client
            .execute(&ListMembers {
                group_id: self.group_id.clone(),
            })
            .await?
            .members)
    }

    /// Adds members by phone number.
    pub async fn add(
        &self,
        phones: impl IntoIterator<Item = PhoneNumber>,
    ) -> Result<ResultResponse, Error> {
        let request = AddMembersRequest::new(phones);
        self.client
            .execute(&AddMembers {
                group_id: self.group_id.clone(),
                request,
            })
            .await
    }

    /// Removes a member (its id from [`Members::list`]).
    pub async fn remove(&self, member: impl Into<UserId>) -> Result<ResultResponse, Error> {
        self.client
            .execute(&RemoveMember {
                group_id: self.group_id.clone(),
                member_id: member.into(),
            })
            .await
    }
}
