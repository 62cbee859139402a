//! Permission scopes a token carries (`permission.md`, the Swagger
//! `grantedScope` list).
//!
//! The vocabulary changed over the service's life: tokens from 2017 say
//! `groupinfo.get`, `groupmessage.add`, `subscription.add`; tokens from 2021
//! say `groupinfo.read`, `textmessage.write`, `webhook.write`. Both parse to
//! the same [`Scope`]; the 2021 spelling is the canonical one.

use std::fmt;

use serde::de::Deserializer;
use serde::{Deserialize, Serialize, Serializer};

wire_enum! {
    /// One permission. Older (2017) spellings are accepted as aliases.
    pub enum Scope {
        /// Create groups and sub-groups.
        GroupInfoWrite = "groupinfo.write" | "groupinfo.add",
        /// Read groups and sub-groups.
        GroupInfoRead = "groupinfo.read" | "groupinfo.get",
        /// Remove sub-groups.
        GroupInfoRemove = "groupinfo.remove",
        /// Update groups (add sub-groups).
        GroupInfoUpdate = "groupinfo.update",
        /// Add members and subscribers.
        GroupMemberWrite = "groupmember.write" | "groupmember.add",
        /// Read members and subscribers.
        GroupMemberRead = "groupmember.read" | "groupmember.get",
        /// Remove members and subscribers.
        GroupMemberRemove = "groupmember.remove",
        /// Update memberships.
        GroupMemberUpdate = "groupmember.update",
        /// Send text messages.
        TextMessageWrite = "textmessage.write" | "groupmessage.add",
        /// Remove text messages.
        TextMessageRemove = "textmessage.remove",
        /// Create actions and post responses.
        ActionWrite = "action.write" | "action.add",
        /// Read actions and their responses.
        ActionRead = "action.read" | "action.get",
        /// Update actions.
        ActionUpdate = "action.update",
        /// Read the token user's own profile.
        ProfileRead = "profile.read" | "profile.get",
        /// Upload media.
        MediaWrite = "media.write" | "media.add",
        /// Create webhooks.
        WebhookWrite = "webhook.write" | "subscription.add",
        /// List webhooks.
        WebhookRead = "webhook.read" | "subscription.get",
        /// Delete webhooks.
        WebhookRemove = "webhook.remove" | "subscription.remove",
        /// Update (and re-activate) webhooks.
        WebhookUpdate = "webhook.update" | "subscription.update",
        /// Post reactions.
        ReactionsWrite = "reactions.write",
        /// Read reactions.
        ReactionsRead = "reactions.read",
        /// Remove reactions.
        ReactionsRemove = "reactions.remove",
        /// Update reactions.
        ReactionsUpdate = "reactions.update",
    }
}

/// The comma-separated scope list of a token response (`scope`,
/// `grantedScope`). The string is kept as received; [`ScopeSet::iter`]
/// parses it.
///
/// ```
/// use kaizala_types::scope::{Scope, ScopeSet};
///
/// let old = ScopeSet::new("groupinfo.get, groupmessage.add,subscription.add");
/// assert!(old.contains(&Scope::GroupInfoRead));
/// assert!(old.contains(&Scope::TextMessageWrite));
/// assert!(old.contains(&Scope::WebhookWrite));
/// assert!(!old.contains(&Scope::MediaWrite));
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct ScopeSet(String);

impl ScopeSet {
    /// Wraps a scope list as sent by the platform.
    pub fn new(list: impl Into<String>) -> Self {
        ScopeSet(list.into())
    }

    /// Builds a list from scopes, in their canonical spelling.
    pub fn from_scopes<'a>(scopes: impl IntoIterator<Item = &'a Scope>) -> Self {
        let names: Vec<&str> = scopes.into_iter().map(Scope::as_str).collect();
        ScopeSet(names.join(","))
    }

    /// The list as received.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Each scope in the list (blank entries skipped).
    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Scope::from_wire)
    }

    /// Whether the list grants `scope` (in either vocabulary).
    pub fn contains(&self, scope: &Scope) -> bool {
        self.iter().any(|s| &s == scope)
    }
}

impl fmt::Debug for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ScopeSet").field(&self.0).finish()
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for ScopeSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ScopeSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(ScopeSet)
    }
}

impl crate::wire::Wire for ScopeSet {
    fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ScopeSet::deserialize(deserializer)
    }
}

#[cfg(test)]
impl crate::arb::Arb for ScopeSet {
    fn arb() -> proptest::strategy::BoxedStrategy<Self> {
        use proptest::prelude::*;
        "[a-z]{1,8}\\.[a-z]{1,6}(,[a-z]{1,8}\\.[a-z]{1,6}){0,4}"
            .prop_map(ScopeSet)
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swagger_granted_scope_parses() {
        let set = ScopeSet::new(
            "groupinfo.read,groupinfo.write,groupinfo.remove,groupinfo.update,groupmember.read,groupmember.write,groupmember.remove,textmessage.read,action.read,action.write,action.update,profile.write,media.read,webhook.read,webhook.write,webhook.remove,webhook.update",
        );
        assert!(set.contains(&Scope::WebhookUpdate));
        assert!(
            !set.contains(&Scope::MediaWrite),
            "media.read is not media.write"
        );
        let unknown: Vec<Scope> = set.iter().filter(|s| !s.is_known()).collect();
        assert_eq!(
            unknown,
            ["textmessage.read", "profile.write", "media.read"].map(Scope::from_wire),
            "scopes outside the documented vocabulary are kept, not dropped"
        );
    }

    #[test]
    fn canonical_spelling() {
        assert_eq!(
            Scope::from_wire("subscription.get").as_str(),
            "webhook.read"
        );
        assert_eq!(
            ScopeSet::from_scopes(&[Scope::GroupInfoRead, Scope::MediaWrite]).as_str(),
            "groupinfo.read,media.write"
        );
    }
}
