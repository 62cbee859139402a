//! `TextMessageCreated`.

wire_object! {
    /// Payload of `TextMessageCreated`: a text message was sent.
    #[derive(Default)]
    pub struct TextMessageData {
        /// The message.
        opt text: String = "text",
    }
}
