//! The tables and views the sink keeps ([`Table`]), by name.

use std::fmt;
use std::str::FromStr;

use crate::error::SinkError;

/// A table or view of the sink's schema (`docs/schema.md`). Parse one from
/// its name (`"responses".parse::<Table>()`); only these can be exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Table {
    /// `events`: the event log — every event received, once per
    /// `eventId`, its body as received.
    Events,
    /// `pull_log`: every document a sync pulled, with what was asked.
    PullLog,
    /// `quarantine`: authenticated bodies that were not events.
    Quarantine,
    /// `event_index`: one row per event — its type, group, sender.
    EventIndex,
    /// `groups`.
    Groups,
    /// `members`: current members and subscribers per group.
    Members,
    /// `member_changes`: every MemberAdded/MemberRemoved event.
    MemberChanges,
    /// `messages`: text messages.
    Messages,
    /// `attachments`: pictures and files, one row per file.
    Attachments,
    /// `actions`: surveys, jobs, polls, Let's Meets, announcements, custom
    /// actions.
    Actions,
    /// `responses`: one row per response.
    Responses,
    /// `answers`: one row per question per response.
    Answers,
    /// `reactions`: like and comment counts per action.
    Reactions,
    /// `projection_errors`: log entries the projector could not map.
    ProjectionErrors,
    /// `sync_state`: pull cursors.
    SyncState,
    /// `responses_per_day` (view).
    ResponsesPerDay,
    /// `answer_distribution` (view).
    AnswerDistribution,
    /// `kz_groups` (view of the dashboard contract): groups, with the parent group's name.
    KzGroups,
    /// `kz_members` (view of the dashboard contract): members, with the group's name.
    KzMembers,
    /// `kz_member_changes` (view of the dashboard contract): members joining and leaving, with the group's name.
    KzMemberChanges,
    /// `kz_messages` (view of the dashboard contract): text messages, with the group's name.
    KzMessages,
    /// `kz_attachments` (view of the dashboard contract): pictures and files, with the group's name.
    KzAttachments,
    /// `kz_actions` (view of the dashboard contract): actions, with the group's name.
    KzActions,
    /// `kz_responses` (view of the dashboard contract): responses, with the action's title and type and the group's name.
    KzResponses,
    /// `kz_answers` (view of the dashboard contract): answers, with the question, action, group and responder.
    KzAnswers,
    /// `kz_reactions` (view of the dashboard contract): like and comment counts, with the action's title.
    KzReactions,
    /// `kz_events` (view of the dashboard contract): every event, with the group's name.
    KzEvents,
    /// `kz_responses_daily` (view of the dashboard contract): responses per action per day.
    KzResponsesDaily,
    /// `kz_answer_counts` (view of the dashboard contract): how often each option was chosen, per question.
    KzAnswerCounts,
}

impl Table {
    /// Every table and view, in schema order.
    pub const ALL: [Table; 29] = [
        Table::Events,
        Table::PullLog,
        Table::Quarantine,
        Table::EventIndex,
        Table::Groups,
        Table::Members,
        Table::MemberChanges,
        Table::Messages,
        Table::Attachments,
        Table::Actions,
        Table::Responses,
        Table::Answers,
        Table::Reactions,
        Table::ProjectionErrors,
        Table::SyncState,
        Table::ResponsesPerDay,
        Table::AnswerDistribution,
        Table::KzGroups,
        Table::KzMembers,
        Table::KzMemberChanges,
        Table::KzMessages,
        Table::KzAttachments,
        Table::KzActions,
        Table::KzResponses,
        Table::KzAnswers,
        Table::KzReactions,
        Table::KzEvents,
        Table::KzResponsesDaily,
        Table::KzAnswerCounts,
    ];

    /// Its SQL name.
    pub fn name(self) -> &'static str {
        match self {
            Table::Events => "events",
            Table::PullLog => "pull_log",
            Table::Quarantine => "quarantine",
            Table::EventIndex => "event_index",
            Table::Groups => "groups",
            Table::Members => "members",
            Table::MemberChanges => "member_changes",
            Table::Messages => "messages",
            Table::Attachments => "attachments",
            Table::Actions => "actions",
            Table::Responses => "responses",
            Table::Answers => "answers",
            Table::Reactions => "reactions",
            Table::ProjectionErrors => "projection_errors",
            Table::SyncState => "sync_state",
            Table::ResponsesPerDay => "responses_per_day",
            Table::AnswerDistribution => "answer_distribution",
            Table::KzGroups => "kz_groups",
            Table::KzMembers => "kz_members",
            Table::KzMemberChanges => "kz_member_changes",
            Table::KzMessages => "kz_messages",
            Table::KzAttachments => "kz_attachments",
            Table::KzActions => "kz_actions",
            Table::KzResponses => "kz_responses",
            Table::KzAnswers => "kz_answers",
            Table::KzReactions => "kz_reactions",
            Table::KzEvents => "kz_events",
            Table::KzResponsesDaily => "kz_responses_daily",
            Table::KzAnswerCounts => "kz_answer_counts",
        }
    }

    /// Whether it is a view (computed from the tables).
    pub fn is_view(self) -> bool {
        matches!(self, Table::ResponsesPerDay | Table::AnswerDistribution) || self.is_stable()
    }

    /// Whether it is a view of the dashboard contract (`kz_*`): its columns
    /// are only ever added to, with native types (docs/schema.md).
    pub fn is_stable(self) -> bool {
        self.name().starts_with("kz_")
    }

    /// The order rows are exported in (a key, so exports are stable).
    pub(crate) fn order_by(self) -> &'static str {
        match self {
            Table::Events | Table::PullLog | Table::ProjectionErrors => "position",
            Table::Quarantine => "id",
            Table::EventIndex => "position",
            Table::Groups => "group_id",
            Table::Members => "group_id, member_id",
            Table::MemberChanges => "changed_at, event_id",
            Table::Messages => "sent_at, event_id",
            Table::Attachments => "sent_at, event_id, item_index",
            Table::Actions => "action_id",
            Table::Responses => "responded_at, response_id",
            Table::Answers => "response_id, question_index",
            Table::Reactions => "reference_id",
            Table::SyncState => "sync_key",
            Table::ResponsesPerDay => "action_id, day_start",
            Table::AnswerDistribution => "action_id, question_index, option",
            Table::KzGroups => "group_id",
            Table::KzMembers => "group_id, member_id",
            Table::KzMemberChanges => "changed_at, event_id",
            Table::KzMessages => "sent_at, event_id",
            Table::KzAttachments => "sent_at, event_id, item_index",
            Table::KzActions => "action_id",
            Table::KzResponses => "responded_at, response_id",
            Table::KzAnswers => "responded_at, response_id, question_index",
            Table::KzReactions => "reference_id",
            Table::KzEvents => "position",
            Table::KzResponsesDaily => "day, action_id, group_id",
            Table::KzAnswerCounts => "action_id, question_index, answer",
        }
    }

    /// Whether it can be exported incrementally ([`Start::Since`],
    /// [`Start::After`]): its export order starts with a time or a log
    /// position, so the rows after a given one are the newer ones. The
    /// others (current state, counts, daily views) are exported whole.
    ///
    /// [`Start::Since`]: crate::Start::Since
    /// [`Start::After`]: crate::Start::After
    pub fn is_incremental(self) -> bool {
        self.since_column().is_some()
    }

    /// The incremental tables and views ([`Table::is_incremental`]), in
    /// schema order.
    pub fn incremental() -> impl Iterator<Item = Table> {
        Table::ALL.into_iter().filter(|t| t.is_incremental())
    }

    /// Their names, comma-separated, for messages.
    pub(crate) fn incremental_names() -> String {
        Table::incremental()
            .map(Table::name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The time [`Start::Since`](crate::Start::Since) compares: when a log
    /// entry was received (or fetched, or logged), else the event's own
    /// time, the first cursor column. `None` when exported whole.
    pub(crate) fn since_column(self) -> Option<&'static str> {
        match self {
            Table::Events | Table::Quarantine | Table::EventIndex | Table::KzEvents => {
                Some("received_at")
            }
            Table::PullLog => Some("fetched_at"),
            Table::ProjectionErrors => Some("logged_at"),
            Table::MemberChanges
            | Table::KzMemberChanges
            | Table::Messages
            | Table::KzMessages
            | Table::Attachments
            | Table::KzAttachments
            | Table::Responses
            | Table::KzResponses
            | Table::KzAnswers => self.cursor_columns().next(),
            _ => None,
        }
    }

    /// The columns an incremental export resumes after: its export order's.
    pub(crate) fn cursor_columns(self) -> impl Iterator<Item = &'static str> {
        self.order_by().split(", ")
    }

    fn known() -> String {
        Table::ALL
            .iter()
            .map(|t| t.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Table {
    type Err = SinkError;

    /// Accepts the SQL name in any letter case, with `-` for `_`.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let wanted = name.trim().to_ascii_lowercase().replace('-', "_");
        Table::ALL
            .into_iter()
            .find(|t| t.name() == wanted)
            .ok_or_else(|| SinkError::UnknownTable {
                name: name.to_owned(),
                known: Table::known(),
            })
    }
}

impl serde::Serialize for Table {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for table in Table::ALL {
            assert_eq!(table.name().parse::<Table>().unwrap(), table);
        }
        assert_eq!(
            "Member-Changes".parse::<Table>().unwrap(),
            Table::MemberChanges
        );
        let err = "users".parse::<Table>().unwrap_err().to_string();
        assert!(
            err.contains("users") && err.contains("answer_distribution"),
            "{err}"
        );
    }
}
