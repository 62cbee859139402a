//! Typed identifiers. All are opaque strings: the platform's ids are mostly
//! GUIDs but not always (shard suffixes like `…@1`, action package ids like
//! `com.microsoft.kaizala.miniapps.BdayMessage.12`), so none is parsed.

wire_id! {
    /// A connector's application id (the OAuth `client_id`).
    ApplicationId,
    /// A conversation group (or sub-group, or managed public group).
    GroupId,
    /// An action instance (survey, job, poll, …) in a group.
    ActionId,
    /// An action package: a custom action's id (`com.example.OrderForm`).
    ActionPackageId,
    /// One response to an action; posting with it updates that response.
    ResponseId,
    /// The id a send call returns for the message or action it posted; also
    /// what reactions refer to.
    ReferenceId,
    /// A reaction (like or comment).
    ReactionId,
    /// A webhook subscription.
    WebhookId,
    /// A delivered webhook event; duplicates of one event share it.
    EventId,
    /// A Kaizala user (group members, subscribers, event senders).
    UserId,
    /// What a webhook is attached to: a group id, an action id or an action
    /// package id, depending on its object type.
    ObjectId,
}
