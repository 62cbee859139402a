//! Initial data: the built-in demo platform, or a TOML file.

use std::collections::{BTreeMap, BTreeSet};

use kaizala_types::Secret;
use serde::{Deserialize, Serialize};

use crate::api::auth::{REFRESH_TOKEN_LIFE_MS, issue_refresh_token};
use crate::model::{Connector, Group, Principal, Role, State, Tenant, User};
use crate::shared::Shared;

/// Every permission, 2021 vocabulary.
pub const ALL_SCOPES: &[&str] = &[
    "groupinfo.write",
    "groupinfo.read",
    "groupinfo.remove",
    "groupinfo.update",
    "groupmember.write",
    "groupmember.read",
    "groupmember.remove",
    "groupmember.update",
    "textmessage.write",
    "textmessage.remove",
    "action.write",
    "action.read",
    "action.update",
    "profile.read",
    "media.write",
    "webhook.write",
    "webhook.read",
    "webhook.remove",
    "webhook.update",
    "reactions.write",
    "reactions.read",
    "reactions.remove",
    "reactions.update",
];

/// What a script needs to start calling the seeded connector at once
/// (`--credentials-out`).
///
/// `Debug` leaves the secret and the refresh token out.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeededCredentials {
    /// The API root to give a client (`{emulator}/v1`).
    pub base_url: String,
    /// The connector's id.
    pub application_id: String,
    /// The connector's secret.
    pub application_secret: String,
    /// A refresh token granted to it (a tenant admin's user token).
    pub refresh_token: String,
    /// A conversation group it can use.
    pub group_id: String,
    /// A managed public group (with subscribers) it can use.
    pub public_group_id: String,
}

impl SeededCredentials {
    /// The connector's credentials, for a client (`base_url` is given to
    /// the client apart).
    pub fn to_credentials(&self) -> kaizala_core::session::Credentials {
        kaizala_core::session::Credentials::new(
            self.application_id.clone(),
            self.application_secret.clone(),
            self.refresh_token.clone(),
        )
    }
}

impl std::fmt::Debug for SeededCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeededCredentials")
            .field("base_url", &self.base_url)
            .field("application_id", &self.application_id)
            .field("application_secret", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("group_id", &self.group_id)
            .field("public_group_id", &self.public_group_id)
            .finish()
    }
}

/// A seed file: tenants with their users, groups and connectors.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFile {
    /// The `[[tenant]]` tables.
    #[serde(default, rename = "tenant")]
    pub tenants: Vec<SeedTenant>,
}

/// A tenant in a seed file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedTenant {
    /// Display name.
    pub name: String,
    /// Endpoint path segment (`{base}/t/{slug}`); derived from the name if absent.
    #[serde(default)]
    pub slug: Option<String>,
    /// The tenant's `[[tenant.user]]` tables.
    #[serde(default, rename = "user")]
    pub users: Vec<SeedUser>,
    /// The tenant's `[[tenant.group]]` tables.
    #[serde(default, rename = "group")]
    pub groups: Vec<SeedGroup>,
    /// The tenant's `[[tenant.connector]]` tables.
    #[serde(default, rename = "connector")]
    pub connectors: Vec<SeedConnector>,
}

/// A user in a seed file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedUser {
    /// Display name.
    pub name: String,
    /// Phone number (`+` and digits).
    pub phone: String,
    /// Tenant administrator.
    #[serde(default)]
    pub admin: bool,
}

/// A group in a seed file; members and subscribers by phone number.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedGroup {
    /// Its name, which other groups' `parent` and a connector's `group:NAME`
    /// refer to it by.
    pub name: String,
    /// `Group` (default) or `ConnectGroup`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Admins, by phone.
    #[serde(default)]
    pub admins: Vec<String>,
    /// Members, by phone.
    #[serde(default)]
    pub members: Vec<String>,
    /// Subscribers (public groups), by phone.
    #[serde(default)]
    pub subscribers: Vec<String>,
    /// Parent group, by name.
    #[serde(default)]
    pub parent: Option<String>,
    /// Welcome message.
    #[serde(default)]
    pub welcome: Option<String>,
}

/// A connector in a seed file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedConnector {
    /// Application id (generated if absent).
    #[serde(default)]
    pub id: Option<String>,
    /// Secret (generated if absent).
    #[serde(default)]
    pub secret: Option<String>,
    /// Display name.
    pub name: String,
    /// Permissions; every permission if absent.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// IP allow-list.
    #[serde(default)]
    pub ip_allow: Vec<String>,
    /// OAuth redirect URLs.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Phone of the user whose user token to issue, or `group:NAME` for a
    /// group token; the first tenant admin if absent.
    #[serde(default)]
    pub grant: Option<String>,
    /// A fixed refresh token to issue (generated if absent).
    #[serde(default)]
    pub refresh_token: Option<String>,
}

/// The demo platform as a seed file.
pub const DEMO: &str = r#"
[[tenant]]
name = "Contoso Field Services"
slug = "contoso"

  [[tenant.user]]
  name = "Asha Rao"
  phone = "+919910870005"
  admin = true

  [[tenant.user]]
  name = "Robin Richard"
  phone = "+911199999999"

  [[tenant.user]]
  name = "Jan Decker"
  phone = "+919652000001"

  [[tenant.user]]
  name = "Meera Iyer"
  phone = "+919652000002"

  [[tenant.user]]
  name = "Vikram Shah"
  phone = "+919652000003"

  [[tenant.group]]
  name = "Field Team"
  admins = ["+919910870005"]
  members = ["+911199999999", "+919652000001", "+919652000002", "+919652000003"]
  welcome = "Welcome to the field team"

  [[tenant.group]]
  name = "Store Managers"
  admins = ["+919910870005"]
  members = ["+919652000001", "+919652000003"]
  welcome = "Store managers only"

  [[tenant.group]]
  name = "Contoso Updates"
  kind = "ConnectGroup"
  admins = ["+919910870005"]
  subscribers = ["+91109999999", "+911111111111", "+911111111112"]
  welcome = "News from Contoso"

  [[tenant.connector]]
  id = "demo-connector"
  name = "Demo connector"
"#;

/// Builds the state a seed file describes; the credentials are those of
/// the first connector, with the first regular and public groups.
pub fn apply(
    shared: &Shared,
    state: &mut State,
    seed: &SeedFile,
) -> Result<Option<SeededCredentials>, String> {
    let mut credentials = None;
    let now = shared.now_ms();
    for seed_tenant in &seed.tenants {
        let slug = seed_tenant
            .slug
            .clone()
            .unwrap_or_else(|| slugify(&seed_tenant.name));
        if state.tenants.values().any(|t| t.slug == slug) {
            return Err(format!("two tenants use the endpoint slug {slug:?}"));
        }
        let tenant = Tenant {
            id: shared.ids.guid(),
            name: seed_tenant.name.clone(),
            slug,
            old_slugs: Vec::new(),
        };
        let tenant_id = tenant.id.clone();
        state.tenants.insert(tenant_id.clone(), tenant);

        let mut by_phone: BTreeMap<String, String> = BTreeMap::new();
        for user in &seed_tenant.users {
            let valid = kaizala_types::PhoneNumber::new(user.phone.clone())
                .map_err(|e| format!("user {}: {e}", user.name))?;
            let id = shared.ids.guid();
            by_phone.insert(valid.as_str().to_owned(), id.clone());
            state.users.insert(
                id.clone(),
                User {
                    id,
                    tenant: Some(tenant_id.clone()),
                    phone: valid.as_str().to_owned(),
                    name: user.name.clone(),
                    profile_pic: String::new(),
                    provisioned: true,
                    tenant_admin: user.admin,
                },
            );
        }
        let mut user_of = |phone: &str, state: &mut State| -> Result<String, String> {
            if let Some(id) = by_phone.get(phone) {
                return Ok(id.clone());
            }
            let valid = kaizala_types::PhoneNumber::new(phone).map_err(|e| e.to_string())?;
            let id = shared.ids.guid();
            state.users.insert(
                id.clone(),
                User {
                    id: id.clone(),
                    tenant: None,
                    phone: valid.as_str().to_owned(),
                    name: String::new(),
                    profile_pic: String::new(),
                    provisioned: false,
                    tenant_admin: false,
                },
            );
            by_phone.insert(phone.to_owned(), id.clone());
            Ok(id)
        };

        let mut group_ids: BTreeMap<String, String> = BTreeMap::new();
        let (mut first_group, mut first_public) = (None, None);
        for seed_group in &seed_tenant.groups {
            let mut members = BTreeMap::new();
            for phone in &seed_group.admins {
                members.insert(user_of(phone, state)?, Role::Admin);
            }
            for phone in &seed_group.members {
                members
                    .entry(user_of(phone, state)?)
                    .or_insert(Role::Member);
            }
            let mut subscribers = BTreeSet::new();
            for phone in &seed_group.subscribers {
                subscribers.insert(user_of(phone, state)?);
            }
            let group_type = seed_group.kind.clone().unwrap_or_else(|| "Group".into());
            if !["Group", "ConnectGroup"].contains(&group_type.as_str()) {
                return Err(format!(
                    "group {}: kind is Group or ConnectGroup",
                    seed_group.name
                ));
            }
            let id = shared.ids.guid();
            let group = Group {
                id: id.clone(),
                tenant: tenant_id.clone(),
                name: seed_group.name.clone(),
                group_type,
                welcome_message: seed_group.welcome.clone().unwrap_or_default(),
                image_url: String::new(),
                members,
                subscribers,
                parents: BTreeSet::new(),
                children: BTreeSet::new(),
                created_ms: now,
            };
            if group.is_public() {
                first_public.get_or_insert_with(|| id.clone());
            } else {
                first_group.get_or_insert_with(|| id.clone());
            }
            group_ids.insert(seed_group.name.clone(), id.clone());
            state.groups.insert(id, group);
        }
        for seed_group in &seed_tenant.groups {
            if let Some(parent) = &seed_group.parent {
                let parent_id = group_ids.get(parent).cloned().ok_or_else(|| {
                    format!("group {}: no parent group {parent}", seed_group.name)
                })?;
                let child_id = group_ids[&seed_group.name].clone();
                if let Some(child) = state.groups.get_mut(&child_id) {
                    child.parents.insert(parent_id.clone());
                }
                if let Some(parent) = state.groups.get_mut(&parent_id) {
                    parent.children.insert(child_id);
                }
            }
        }

        for seed_connector in &seed_tenant.connectors {
            let app_id = seed_connector
                .id
                .clone()
                .unwrap_or_else(|| shared.ids.guid());
            let secret = seed_connector
                .secret
                .clone()
                .unwrap_or_else(|| shared.ids.token("kz-secret"));
            let scopes = seed_connector
                .scopes
                .clone()
                .unwrap_or_else(|| ALL_SCOPES.iter().map(|s| (*s).to_owned()).collect());
            state.connectors.insert(
                app_id.clone(),
                Connector {
                    app_id: app_id.clone(),
                    secret: Secret::new(secret.clone()),
                    name: seed_connector.name.clone(),
                    tenant: tenant_id.clone(),
                    scopes,
                    ip_allow: seed_connector.ip_allow.clone(),
                    redirect_uris: seed_connector.redirect_uris.clone(),
                },
            );
            let principal = match seed_connector.grant.as_deref() {
                Some(grant) if grant.starts_with("group:") => {
                    let name = &grant["group:".len()..];
                    Principal::Group(group_ids.get(name).cloned().ok_or_else(|| {
                        format!("connector {}: no group {name}", seed_connector.name)
                    })?)
                }
                Some(phone) => Principal::User(by_phone.get(phone).cloned().ok_or_else(|| {
                    format!("connector {}: no user {phone}", seed_connector.name)
                })?),
                None => {
                    let admin = seed_tenant.users.iter().find(|u| u.admin).ok_or_else(|| {
                        format!(
                            "connector {}: name a `grant`, or make a user `admin`",
                            seed_connector.name
                        )
                    })?;
                    Principal::User(by_phone[&admin.phone].clone())
                }
            };
            let mut grant = issue_refresh_token(shared, state, &app_id, principal);
            if let Some(fixed) = &seed_connector.refresh_token {
                state.refresh_tokens.remove(&grant.token);
                grant.token = Secret::new(fixed.clone());
                grant.expires_ms = now + REFRESH_TOKEN_LIFE_MS;
                state
                    .refresh_tokens
                    .insert(grant.token.clone(), grant.clone());
            }
            if credentials.is_none() {
                credentials = Some(SeededCredentials {
                    base_url: format!("{}/v1", shared.base_url),
                    application_id: app_id,
                    application_secret: secret,
                    refresh_token: grant.token.into_exposed(),
                    group_id: first_group.clone().unwrap_or_default(),
                    public_group_id: first_public.clone().unwrap_or_default(),
                });
            }
        }
    }
    Ok(credentials)
}

fn slugify(name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let slug = slug.trim_matches('-').to_owned();
    if slug.is_empty() {
        "tenant".to_owned()
    } else {
        slug
    }
}
