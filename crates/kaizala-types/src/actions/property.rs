//! Properties of custom action package instances.

wire_enum! {
    /// The type of a [`Property`].
    pub enum PropertyType {
        /// Free text.
        Text = "Text",
        /// A number.
        Numeric = "Numeric",
        /// A location.
        Location = "Location",
        /// A date and time.
        DateTime = "DateTime",
        /// A list of strings.
        StringList = "StringList",
        /// One attachment.
        Attachment = "Attachment",
        /// A set of strings.
        StringSet = "StringSet",
        /// Several attachments.
        AttachmentList = "AttachmentList",
    }
}

wire_object! {
    /// A named value passed to a custom action package instance. Values are
    /// strings on the wire whatever their type (a list is JSON inside the
    /// string).
    pub struct Property {
        /// Property name, as declared by the package.
        req name: String = "name",
        /// How the package reads `value`.
        req property_type: PropertyType = "type",
        /// Its value, as a string.
        req value: String = "value",
    }
}

impl Property {
    /// A property whose value is already encoded as a string.
    pub fn new(
        name: impl Into<String>,
        property_type: PropertyType,
        value: impl Into<String>,
    ) -> Self {
        Property {
            name: name.into(),
            property_type,
            value: value.into(),
            extra: crate::Extra::new(),
        }
    }
}
