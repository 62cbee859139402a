//! `kaizala webhook create|list|update|delete`: manage subscriptions.

use clap::{Args, Subcommand, ValueEnum};
use kaizala_types::Flag;
use kaizala_types::Secret;
use kaizala_types::event::{EventType, ObjectType};
use kaizala_types::webhooks::{CreateWebhookRequest, UpdateWebhookRequest};

use crate::credentials::ConnectionArgs;
use crate::error::{CliError, CliResult};

/// What a webhook watches.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Watched {
    /// A conversation group (and its sub-groups).
    Group,
    /// One action.
    Action,
    /// Every instance of an action package.
    ActionPackage,
}

impl From<Watched> for ObjectType {
    fn from(watched: Watched) -> Self {
        match watched {
            Watched::Group => ObjectType::Group,
            Watched::Action => ObjectType::Action,
            Watched::ActionPackage => ObjectType::ActionPackage,
        }
    }
}

/// The subscription commands.
#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Subscribes a callback URL (which must already answer the validation request).
    Create {
        /// What to watch.
        #[arg(long, value_enum, default_value = "group")]
        object_type: Watched,
        /// The group, action or package id.
        #[arg(long)]
        object_id: String,
        /// The callback URL.
        #[arg(long)]
        url: String,
        /// Event types (repeat the flag); all 13 documented types by default.
        #[arg(long = "event-type", value_name = "TYPE")]
        event_types: Vec<String>,
        #[command(flatten)]
        secrets: CallbackArgs,
    },
    /// Lists the subscriptions on an object.
    List {
        /// What is watched.
        #[arg(long, value_enum, default_value = "group")]
        object_type: Watched,
        /// The group, action or package id.
        #[arg(long)]
        object_id: String,
    },
    /// Changes a subscription (only what is given).
    Update {
        /// The webhook id.
        id: String,
        /// A new callback URL.
        #[arg(long)]
        url: Option<String>,
        /// New event types (repeat the flag).
        #[arg(long = "event-type", value_name = "TYPE")]
        event_types: Vec<String>,
        /// Re-activate (true) a webhook the platform disabled, or deactivate (false).
        #[arg(long)]
        active: Option<bool>,
        #[command(flatten)]
        secrets: CallbackArgs,
    },
    /// Deletes a subscription.
    Delete {
        /// The webhook id.
        id: String,
    },
}

/// The callback's token and context.
#[derive(Debug, Args)]
pub struct CallbackArgs {
    /// The `kz-callback-token` the platform will send (read from the
    /// environment so it stays out of shell history). One token: while
    /// rotating, `kaizala ingest` takes `OLD,NEW`, but the webhook is given
    /// the new one alone.
    #[arg(
        long,
        env = "KAIZALA_CALLBACK_TOKEN",
        hide_env_values = true,
        value_parser = super::secret
    )]
    callback_token: Option<Secret>,
    /// The `context` the platform will put in every event.
    #[arg(long)]
    context: Option<String>,
}

impl CallbackArgs {
    /// The token for the platform: one, never the `OLD,NEW` pair that
    /// `kaizala ingest` reads from the same variable while rotating (the
    /// error does not repeat it: it is a secret).
    fn token(&self) -> CliResult<Option<Secret>> {
        match &self.callback_token {
            Some(token) if token.expose().contains(',') => Err(CliError::new(
                "--callback-token (or KAIZALA_CALLBACK_TOKEN) holds a comma: a webhook has one \
                 callback token",
            )
            .hint("give the new token alone; the `OLD,NEW` pair is for `kaizala ingest`")),
            other => Ok(other.clone()),
        }
    }
}

/// Runs a webhook command.
pub async fn run(connection: &ConnectionArgs, command: WebhookCommand) -> CliResult {
    let client = connection.client()?;
    let webhooks = client.webhooks();
    match command {
        WebhookCommand::Create {
            object_type,
            object_id,
            url,
            event_types,
            secrets,
        } => {
            let types = parse_event_types(&event_types)?;
            let types = if types.is_empty() {
                EventType::DOCUMENTED.to_vec()
            } else {
                types
            };
            let mut request = CreateWebhookRequest::new(object_type.into(), object_id, types, url);
            request.callback_token = secrets.token()?;
            request.callback_context = secrets.context;
            let created = webhooks.create(request).await?;
            println!("{}", created.webhook_id);
        }
        WebhookCommand::List {
            object_type,
            object_id,
        } => {
            let list = webhooks.list(object_type.into(), object_id).await?;
            if list.is_empty() {
                eprintln!("no webhooks");
            }
            for webhook in list {
                let events: Vec<String> = webhook
                    .events
                    .unwrap_or_default()
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                let active = webhook.active.map(bool::from).unwrap_or(true);
                println!(
                    "{}\t{}\t{}\t{}",
                    webhook.id,
                    if active { "active" } else { "disabled" },
                    webhook.callback_url.unwrap_or_default(),
                    events.join(",")
                );
            }
        }
        WebhookCommand::Update {
            id,
            url,
            event_types,
            active,
            secrets,
        } => {
            let types = parse_event_types(&event_types)?;
            let request = UpdateWebhookRequest {
                callback_url: url,
                event_types: (!types.is_empty()).then_some(types),
                active: active.map(Flag::from),
                callback_token: secrets.token()?,
                callback_context: secrets.context,
                ..Default::default()
            };
            webhooks.update(id.as_str(), request).await?;
            println!("updated {id}");
        }
        WebhookCommand::Delete { id } => {
            webhooks.delete(id.as_str()).await?;
            println!("deleted {id}");
        }
    }
    Ok(())
}

/// Event type names, checked against the known ones (a typo would make a
/// subscription that never fires).
fn parse_event_types(names: &[String]) -> CliResult<Vec<EventType>> {
    names
        .iter()
        .flat_map(|n| n.split(','))
        .map(|name| {
            let event_type = EventType::from_wire(name.trim());
            if matches!(event_type, EventType::Other(_)) {
                let known: Vec<String> = EventType::DOCUMENTED
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                Err(CliError::new(format!("unknown event type `{name}`"))
                    .hint(format!("known types: {}", known.join(", "))))
            } else {
                Ok(event_type)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_are_checked() {
        let types = parse_event_types(&["SurveyResponse,MemberAdded".into(), "PollCreated".into()])
            .unwrap();
        assert_eq!(
            types,
            [
                EventType::SurveyResponse,
                EventType::MemberAdded,
                EventType::PollCreated
            ]
        );
        let err = parse_event_types(&["SurveyResponses".into()]).unwrap_err();
        assert_eq!(err.to_string(), "unknown event type `SurveyResponses`");
        assert!(err.hint_text().unwrap().contains("SurveyResponse"));
    }
}
