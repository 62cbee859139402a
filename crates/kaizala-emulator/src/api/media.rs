//! Media uploads (`media.md`): `POST /media` with a `multipart/form-data`
//! body holding one file. The file's content type — the part's
//! `Content-Type`, or its extension's when the part has none — must be one
//! of the documented formats (415 otherwise). The answer's
//! `mediaResource` is an opaque token to post in a media action, a poll
//! choice, an announcement or an Image answer.

use kaizala_types::media::{
    MEDIA_FORMATS, MediaUploadResponse, format_for_content_type, format_for_file_name,
};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::Ctx;
use crate::http::{ApiError, Reply};
use crate::model::{MediaFile, State};

/// Characters kept as they are in a file name within a URL path.
const FILE_NAME: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'.')
    .remove(b'-')
    .remove(b'_')
    .remove(b'~');

/// `POST /media`.
pub fn upload(ctx: &mut Ctx<'_>, state: &mut State) -> Result<Reply, ApiError> {
    let content_type = ctx.call.header("content-type").unwrap_or_default();
    let mut params = content_type.split(';');
    let essence = params.next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("multipart/form-data") {
        return Err(ApiError::unsupported_media(format!(
            "upload the file as multipart/form-data, not {}",
            if essence.is_empty() {
                "a body without Content-Type"
            } else {
                essence
            }
        )));
    }
    let boundary = params
        .filter_map(|p| p.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, value)| value.trim().trim_matches('"'))
        .filter(|b| !b.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request("the multipart/form-data Content-Type names no boundary")
        })?;
    let part = parts(&ctx.call.body, boundary)
        .into_iter()
        .find(|p| p.file_name.is_some())
        .ok_or_else(|| {
            ApiError::bad_field(
                "file",
                "the body holds no file part (a part with a filename)",
            )
        })?;
    let file_name = part.file_name.clone().unwrap_or_default();
    if file_name.is_empty() {
        return Err(ApiError::bad_field(
            "file",
            "the file part's filename is empty",
        ));
    }

    let declared = part.content_type.as_deref().map(str::trim).filter(|t| {
        !t.is_empty()
            && !t
                .to_ascii_lowercase()
                .starts_with("application/octet-stream")
    });
    let format = match declared {
        Some(declared) => format_for_content_type(declared).ok_or_else(|| {
            ApiError::unsupported_media(format!(
                "{declared} is not a supported media type ({})",
                supported()
            ))
        })?,
        None => format_for_file_name(&file_name).ok_or_else(|| {
            ApiError::unsupported_media(format!(
                "{file_name:?} has no supported content type ({})",
                supported()
            ))
        })?,
    };
    if let Some((_, extension)) = file_name.rsplit_once('.')
        && format_for_file_name(&file_name).is_none()
    {
        return Err(ApiError::unsupported_media(format!(
            ".{extension} files are not supported ({})",
            supported()
        )));
    }
    if part.data.is_empty() {
        return Err(ApiError::bad_field("file", "the file is empty"));
    }

    let resource = ctx.shared.ids.token("kz-media");
    let url = format!(
        "{}/media/{resource}/{}",
        ctx.shared.base_url,
        utf8_percent_encode(&file_name, FILE_NAME)
    );
    let media = MediaFile {
        resource: resource.clone(),
        file_name,
        content_type: format.content_type.to_owned(),
        size: part.data.len() as u64,
        url,
        uploaded_ms: ctx.now_ms,
    };
    state.media.insert(resource.clone(), media);
    Ok(Reply::ok(&MediaUploadResponse {
        media_resource: resource.into(),
        extra: Default::default(),
    }))
}

fn supported() -> String {
    let mut types: Vec<&str> = MEDIA_FORMATS.iter().map(|f| f.content_type).collect();
    types.dedup();
    types.join(", ")
}

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Part<'a> {
    name: Option<String>,
    file_name: Option<String>,
    content_type: Option<String>,
    data: &'a [u8],
}

/// The parts of a `multipart/form-data` body (RFC 7578), as far as they
/// are well formed.
fn parts<'a>(body: &'a [u8], boundary: &str) -> Vec<Part<'a>> {
    let delimiter = format!("--{boundary}").into_bytes();
    let mut found = Vec::new();
    let Some(start) = find(body, &delimiter, 0) else {
        return found;
    };
    let mut at = start + delimiter.len();
    loop {
        let rest = &body[at..];
        if rest.starts_with(b"--") {
            break;
        }
        // The delimiter line may carry trailing whitespace before its CRLF.
        let Some(line_end) = find(body, b"\n", at) else {
            break;
        };
        let headers_start = line_end + 1;
        let (headers_end, data_start) = match (
            find(body, b"\r\n\r\n", headers_start),
            find(body, b"\n\n", headers_start),
        ) {
            (Some(crlf), Some(lf)) if lf < crlf => (lf, lf + 2),
            (Some(crlf), _) => (crlf, crlf + 4),
            (None, Some(lf)) => (lf, lf + 2),
            (None, None) => break,
        };
        // Blank header block: the part starts with its data.
        let (headers_end, data_start) = if body[headers_start..].starts_with(b"\r\n") {
            (headers_start, headers_start + 2)
        } else {
            (headers_end, data_start)
        };
        let mut next_delimiter = b"\r\n".to_vec();
        next_delimiter.extend_from_slice(&delimiter);
        let Some(data_end) = find(body, &next_delimiter, data_start) else {
            break;
        };
        let headers = String::from_utf8_lossy(&body[headers_start..headers_end]);
        found.push(part(&headers, &body[data_start..data_end]));
        at = data_end + next_delimiter.len();
    }
    found
}

fn part<'a>(headers: &str, data: &'a [u8]) -> Part<'a> {
    let mut part = Part {
        name: None,
        file_name: None,
        content_type: None,
        data,
    };
    for line in headers.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.eq_ignore_ascii_case("content-type") {
            part.content_type = Some(value.trim().to_owned());
        } else if name.eq_ignore_ascii_case("content-disposition") {
            let mut extended = None;
            for (key, value) in parameters(value) {
                match key.to_ascii_lowercase().as_str() {
                    "name" => part.name = Some(value),
                    "filename" => part.file_name = Some(unescape(&value)),
                    "filename*" => extended = extended_value(&value),
                    _ => {}
                }
            }
            if extended.is_some() {
                part.file_name = extended;
            }
        }
    }
    // Browsers send the name alone; some clients send a path.
    part.file_name = part
        .file_name
        .map(|n| n.rsplit(['/', '\\']).next().unwrap_or_default().to_owned());
    part
}

/// `key=value` and `key="quoted value"` parameters after the first `;`.
fn parameters(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = value.chars().peekable();
    // Skip the disposition type (`form-data`).
    for c in chars.by_ref() {
        if c == ';' {
            break;
        }
    }
    loop {
        while chars.next_if(|c| c.is_whitespace() || *c == ';').is_some() {}
        let key: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ';')).collect();
        if key.trim().is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'=').is_some() {
            if chars.next_if_eq(&'"').is_some() {
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next()),
                        '"' => break,
                        c => value.push(c),
                    }
                }
            } else {
                value = std::iter::from_fn(|| chars.next_if(|c| *c != ';'))
                    .collect::<String>()
                    .trim()
                    .to_owned();
            }
        }
        out.push((key.trim().to_owned(), value));
    }
    out
}

/// Undoes the escapes browsers apply to quoted file names (RFC 7578 §4.2).
fn unescape(value: &str) -> String {
    value
        .replace("%22", "\"")
        .replace("%0D", "\r")
        .replace("%0A", "\n")
}

/// An RFC 5987 `charset'language'percent-encoded` value.
fn extended_value(value: &str) -> Option<String> {
    let mut pieces = value.splitn(3, '\'');
    let (charset, _, encoded) = (pieces.next()?, pieces.next()?, pieces.next()?);
    charset.eq_ignore_ascii_case("utf-8").then(|| {
        percent_encoding::percent_decode_str(encoded)
            .decode_utf8_lossy()
            .into_owned()
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > haystack.len() {
        return None;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_parts_the_client_sends() {
        let upload = kaizala_core::multipart::Multipart::file(
            "file",
            "a \"b\".png",
            "image/png",
            b"\x89PNG\r\n--x".to_vec(),
        );
        let boundary = upload.boundary().to_owned();
        let body = upload.into_bytes();
        let found = parts(&body, &boundary);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name.as_deref(), Some("file"));
        assert_eq!(found[0].file_name.as_deref(), Some("a \"b\".png"));
        assert_eq!(found[0].content_type.as_deref(), Some("image/png"));
        assert_eq!(found[0].data, b"\x89PNG\r\n--x");
    }

    #[test]
    fn reads_several_parts_and_extended_names() {
        let body = b"preamble\r\n--XY\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--XY\r\n\
            Content-Disposition: form-data; name=f; filename=\"C:\\\\dir\\\\x.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\r\n\
            Content-Type: application/pdf\r\n\r\n%PDF\r\n--XY--\r\n";
        let found = parts(body, "XY");
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].file_name, None);
        assert_eq!(found[0].data, b"hello");
        assert_eq!(found[1].file_name.as_deref(), Some("résumé.pdf"));
        assert_eq!(found[1].data, b"%PDF");
        assert!(parts(b"no delimiter at all", "XY").is_empty());
    }
}
