//! A request's query options: the system query options the feed knows,
//! decoded as a form is (`+` is a space, as Python's `urlencode` writes
//! it: a DateTimeOffset's `+05:30` comes as `%2B05:30`); custom options
//! (no `$`) are ignored, as OData asks.

use kaizala_sink::odata::QueryOptions;
use percent_encoding::percent_decode_str;

/// The system query options of one request.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Options {
    pub select: Option<String>,
    pub filter: Option<String>,
    pub orderby: Option<String>,
    pub top: Option<String>,
    pub skip: Option<String>,
    pub count: Option<String>,
    /// Rows earlier pages served: `$skiptoken`, which the feed's own
    /// next links carry.
    pub skip_token: u64,
}

/// A query option the feed does not take.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(super) enum Unsupported {
    /// A system query option it does not implement (`$expand`, …).
    #[error(
        "{0} is not supported (the feed takes $select, $filter, $orderby, $top, $skip and $count)"
    )]
    Option(String),
    /// An option given twice.
    #[error("{0} is given more than once")]
    Twice(String),
    /// A `$skiptoken` not made by the feed.
    #[error("'{0}' is not a $skiptoken of this feed")]
    SkipToken(String),
    /// A `$format` other than JSON.
    #[error("$format '{0}' is not supported: the feed is JSON")]
    Format(String),
    /// Not UTF-8 once decoded.
    #[error("{0} is not UTF-8 once percent-decoded")]
    Encoding(String),
}

impl Unsupported {
    /// The option concerned.
    pub(super) fn option(&self) -> &str {
        match self {
            Unsupported::Option(name) | Unsupported::Twice(name) | Unsupported::Encoding(name) => {
                name
            }
            Unsupported::SkipToken(_) => "$skiptoken",
            Unsupported::Format(_) => "$format",
        }
    }
}

impl Options {
    /// The options of `query` (the URL's raw query string).
    pub(super) fn parse(query: &str) -> Result<Options, Unsupported> {
        let mut options = Options::default();
        let mut seen: Vec<String> = Vec::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode(name, name)?;
            if !name.starts_with('$') {
                continue;
            }
            let value = decode(value, &name)?;
            if seen.contains(&name) {
                return Err(Unsupported::Twice(name));
            }
            seen.push(name.clone());
            let slot = match name.as_str() {
                "$select" => &mut options.select,
                "$filter" => &mut options.filter,
                "$orderby" => &mut options.orderby,
                "$top" => &mut options.top,
                "$skip" => &mut options.skip,
                "$count" => &mut options.count,
                "$skiptoken" => {
                    options.skip_token = value
                        .parse()
                        .map_err(|_| Unsupported::SkipToken(value.clone()))?;
                    continue;
                }
                "$format" => {
                    let json = value == "json" || value.starts_with("application/json");
                    if !json {
                        return Err(Unsupported::Format(value));
                    }
                    continue;
                }
                _ => return Err(Unsupported::Option(name)),
            };
            *slot = Some(value);
        }
        Ok(options)
    }

    /// The options as the query layer takes them.
    pub(super) fn query(&self) -> QueryOptions<'_> {
        QueryOptions {
            select: self.select.as_deref(),
            filter: self.filter.as_deref(),
            orderby: self.orderby.as_deref(),
            top: self.top.as_deref(),
            skip: self.skip.as_deref(),
            count: self.count.as_deref(),
        }
    }
}

fn decode(text: &str, option: &str) -> Result<String, Unsupported> {
    percent_decode_str(&text.replace('+', " "))
        .decode_utf8()
        .map(|text| text.into_owned())
        .map_err(|_| Unsupported::Encoding(option.to_owned()))
}

/// `query` (raw) with its `$skiptoken` replaced by `served`: the next
/// page's query, every other option kept as the client wrote it.
pub(super) fn with_skip_token(query: &str, served: u64) -> String {
    let mut pairs: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            let name = pair.split_once('=').map_or(*pair, |(name, _)| name);
            percent_decode_str(name).decode_utf8().ok().as_deref() != Some("$skiptoken")
        })
        .collect();
    let token = format!("$skiptoken={served}");
    pairs.push(&token);
    pairs.join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_options_are_decoded_and_custom_ones_ignored() {
        let options = Options::parse(
            "$filter=sent_at+ge%202026-03-10T20:00:00%2B05:30%20and%20text%20eq%20'a%26b'\
             &$select=text&%24top=5&$skip=2&$count=true&$skiptoken=1000&$format=json&x=y&sap-client=1",
        )
        .unwrap();
        assert_eq!(
            options,
            Options {
                select: Some("text".into()),
                filter: Some("sent_at ge 2026-03-10T20:00:00+05:30 and text eq 'a&b'".into()),
                orderby: None,
                top: Some("5".into()),
                skip: Some("2".into()),
                count: Some("true".into()),
                skip_token: 1000,
            }
        );
        assert_eq!(Options::parse("").unwrap(), Options::default());
    }

    #[test]
    fn unknown_repeated_or_malformed_options_are_refused() {
        let err = |q: &str| Options::parse(q).unwrap_err();
        assert_eq!(err("$expand=x"), Unsupported::Option("$expand".into()));
        assert_eq!(err("$expand=x").option(), "$expand");
        assert_eq!(err("$top=1&$top=2"), Unsupported::Twice("$top".into()));
        assert_eq!(err("$skiptoken=abc"), Unsupported::SkipToken("abc".into()));
        assert_eq!(err("$format=xml"), Unsupported::Format("xml".into()));
        assert_eq!(err("$filter=%FF"), Unsupported::Encoding("$filter".into()));
    }

    #[test]
    fn the_next_query_keeps_the_options_and_replaces_the_token() {
        assert_eq!(with_skip_token("", 1000), "$skiptoken=1000");
        assert_eq!(
            with_skip_token("$filter=a%20eq%201&$skiptoken=1000&$top=5000", 2000),
            "$filter=a%20eq%201&$top=5000&$skiptoken=2000"
        );
        assert_eq!(
            with_skip_token("%24skiptoken=5&$count=true", 10),
            "$count=true&$skiptoken=10"
        );
    }
}
