//! What happened on the platform, in the terms webhooks speak: the API
//! handlers and the simulation record [`Happening`]s; the delivery engine
//! turns each into one callback per matching webhook.

use kaizala_types::event::{EventData, EventType};

/// Something that happened in a group.
#[derive(Debug, Clone)]
pub struct Happening {
    /// The id of the tenant the group belongs to.
    pub tenant: String,
    /// The group it happened in.
    pub group_id: String,
    /// What happened.
    pub event_type: EventType,
    /// The action it concerns, if any (webhooks on an Action watch it).
    pub action_id: Option<String>,
    /// The action package, if any (webhooks on an ActionPackage watch it).
    pub package_id: Option<String>,
    /// Who did it (user id): the envelope's `fromUser*`.
    pub from_user: Option<String>,
    /// The typed `data`.
    pub data: EventData,
}
