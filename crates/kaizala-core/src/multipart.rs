//! `multipart/form-data` encoding for media uploads (RFC 7578): one file
//! part, so a small encoder beats a dependency.

/// A multipart body holding one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Multipart {
    boundary: String,
    field: String,
    file_name: String,
    content_type: String,
    data: Vec<u8>,
}

impl Multipart {
    /// A body with the file `data` in form field `field`.
    ///
    /// The boundary is derived from the content (so a given upload always
    /// encodes the same way) and chosen so that it does not occur in it.
    pub fn file(field: &str, file_name: &str, content_type: &str, data: Vec<u8>) -> Self {
        let mut seed = fnv1a(&data) ^ (data.len() as u64).rotate_left(32);
        let boundary = loop {
            let candidate = format!("kaizala-rs-{seed:016x}");
            if !contains(&data, candidate.as_bytes()) {
                break candidate;
            }
            seed = seed.wrapping_mul(0x100_0000_01b3).wrapping_add(1);
        };
        Multipart {
            boundary,
            field: field.to_owned(),
            file_name: file_name.to_owned(),
            content_type: content_type.to_owned(),
            data,
        }
    }

    /// The `Content-Type` header value, boundary included.
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    /// The string between the parts (without the leading `--`), chosen so
    /// that it does not occur in the file.
    pub fn boundary(&self) -> &str {
        &self.boundary
    }

    /// The encoded body.
    pub fn into_bytes(self) -> Vec<u8> {
        let head = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file}\"\r\nContent-Type: {content_type}\r\n\r\n",
            boundary = self.boundary,
            field = quote(&self.field),
            file = quote(&self.file_name),
            content_type = self.content_type,
        );
        let tail = format!("\r\n--{}--\r\n", self.boundary);
        let mut out = Vec::with_capacity(head.len() + self.data.len() + tail.len());
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(&self.data);
        out.extend_from_slice(tail.as_bytes());
        out
    }
}

/// Escapes a quoted-string parameter the way browsers do (RFC 7578 §4.2):
/// `"` as `%22`, line breaks as `%0D`/`%0A`.
fn quote(value: &str) -> String {
    value
        .replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_one_file_part() {
        let body = Multipart::file(
            "file",
            "a \"b\".jpg",
            "image/jpeg",
            b"\xff\xd8data".to_vec(),
        );
        let boundary = body.boundary().to_owned();
        assert_eq!(
            body.content_type(),
            format!("multipart/form-data; boundary={boundary}")
        );
        let bytes = body.into_bytes();
        let mut expected = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a %22b%22.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
        )
        .into_bytes();
        expected.extend_from_slice(b"\xff\xd8data");
        expected.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        assert_eq!(bytes, expected);
    }

    #[test]
    fn boundary_never_occurs_in_the_data() {
        let first = Multipart::file("file", "x", "image/png", b"abc".to_vec())
            .boundary()
            .to_owned();
        // Data that contains the boundary it would have been given.
        let tricky = format!("..{first}..").into_bytes();
        let body = Multipart::file("file", "x", "image/png", tricky.clone());
        assert!(!contains(&tricky, body.boundary().as_bytes()));
        assert_eq!(
            Multipart::file("file", "x", "image/png", b"abc".to_vec()).boundary(),
            first,
            "deterministic"
        );
    }
}
