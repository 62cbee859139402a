//! Actions (`actions*.md`, `actionDetails.md`, `media.md`): creating
//! Announcements, Jobs, Polls, Let's Meets, Surveys, media posts and custom
//! action package instances; listing them; their details; the questions and
//! answers they carry.

mod create;
mod details;
mod list;
mod property;
mod question;

#[cfg(test)]
pub(crate) use question::arb_impls as question_arb;

pub use create::{
    ActionBody, AnnouncementBody, CreateActionRequest, CreateActionResponse, CustomActionBody,
    JobBody, LetsMeetBody, MediaBody, PollBody, PollChoice, SurveyBody,
};
pub use details::{ActionDetails, DetailsBody, JobDetails, SurveyDetails};
pub use list::{
    ActionList, ActionSummary, ImageSummary, JobSummary, LetsMeetSummary, LocationSummary,
    PollSummary, SummaryBody, SurveySummary,
};
pub use property::{Property, PropertyType};
pub use question::{
    Answer, GeoPoint, JobResponseDetail, PhoneAnswer, QuestionAnswer, QuestionOption, QuestionSpec,
    QuestionType, ResponseDetails, ResponseDetailsObject,
};

wire_enum! {
    /// The kind of an action. `actions.md` lists lower-case ids (`survey`,
    /// `letsmeet`, `photoWithLocation`); any letter case is accepted.
    pub enum ActionType {
        /// An announcement (title, message, pictures).
        Announcement = "Announcement",
        /// A job assigned to members.
        Job = "Job",
        /// A quick poll.
        Poll = "Poll",
        /// A meeting request.
        LetsMeet = "LetsMeet",
        /// A survey: questions each member answers.
        Survey = "Survey",
        /// A picture (`.jpg`, `.jpeg`, `.png`).
        Image = "Image",
        /// Several pictures.
        Album = "Album",
        /// An audio file (`.mp3`, `.wav`).
        Audio = "Audio",
        /// A document (Word, Excel, PowerPoint or PDF).
        Document = "Document",
        /// A video (`.mp4`, `.3gpp`).
        Video = "Video",
        /// A shared location.
        ShareLocation = "ShareLocation",
        /// A photo with its location.
        PhotoWithLocation = "PhotoWithLocation",
    }
}

impl ActionType {
    /// Whether the action posts an uploaded media file.
    pub fn is_media(&self) -> bool {
        matches!(
            self,
            ActionType::Image
                | ActionType::Album
                | ActionType::Audio
                | ActionType::Document
                | ActionType::Video
        )
    }
}
