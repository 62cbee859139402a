//! `JobCreated`.

use crate::{ActionId, GroupId, Timestamp};

wire_object! {
    /// Payload of `JobCreated`: a job was assigned.
    #[derive(Default)]
    pub struct JobCreatedData {
        /// The job's action id.
        opt action_id: ActionId = "actionId",
        /// The group it was posted in.
        opt group_id: GroupId = "groupId",
        /// What is to be done, in short (`text` has the description).
        opt title: String = "title",
        /// Description.
        opt text: String = "text",
        /// When it is due (ISO 8601).
        opt due_date: Timestamp = "dueDate",
        /// Assignees' phone numbers (as sent).
        opt assigned_to: Vec<String> = "assignedTo",
    }
}
