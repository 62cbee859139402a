//! Users and groups.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// A Kaizala user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// The user's id: what the API reports as member and sender ids.
    pub id: String,
    /// Tenant, for organisation users.
    #[serde(default)]
    pub tenant: Option<String>,
    /// Phone number, `+` and digits.
    pub phone: String,
    /// Display name.
    pub name: String,
    /// Picture URL.
    #[serde(default)]
    pub profile_pic: String,
    /// Whether they installed the app (users added by number start unprovisioned).
    #[serde(default)]
    pub provisioned: bool,
    /// Tenant administrator: user tokens reach every group of the tenant.
    #[serde(default)]
    pub tenant_admin: bool,
}

/// A member's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// Group administrator.
    Admin,
    /// A member without admin rights.
    Member,
}

impl Role {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "Admin",
            Role::Member => "Member",
        }
    }
}

/// A conversation group (or managed public group).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// The group's id, the `{groupId}` of group calls.
    pub id: String,
    /// Tenant it belongs to.
    pub tenant: String,
    /// The name members see.
    pub name: String,
    /// `Group` or `ConnectGroup`.
    pub group_type: String,
    /// Shown to new members.
    #[serde(default)]
    pub welcome_message: String,
    /// Picture URL.
    #[serde(default)]
    pub image_url: String,
    /// Members by user id.
    #[serde(default)]
    pub members: BTreeMap<String, Role>,
    /// Subscribers (public groups), by user id.
    #[serde(default)]
    pub subscribers: BTreeSet<String>,
    /// Parent groups.
    #[serde(default)]
    pub parents: BTreeSet<String>,
    /// Sub-groups.
    #[serde(default)]
    pub children: BTreeSet<String>,
    /// Created, epoch ms.
    pub created_ms: i64,
}

impl Group {
    /// Whether it is a managed public group.
    pub fn is_public(&self) -> bool {
        self.group_type.eq_ignore_ascii_case("ConnectGroup")
    }
}
