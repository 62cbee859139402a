//! `TextMessageCreated`.

wire_object! {
    /// Payload of `TextMessageCreated`: a text message was sent.
    #[derive(Default)]
    pub struct TextMessageData {
        /// The text that was sent.
        opt text: String = "text",
    }
}
