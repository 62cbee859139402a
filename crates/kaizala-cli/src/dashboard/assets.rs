//! The page and its assets, compiled into the binary from `assets/`.

/// A file the server sends as it is.
#[derive(Debug)]
pub(super) struct Asset {
    /// Its path on the server.
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

/// The page, served at `/`.
pub(super) const INDEX: Asset = Asset {
    path: "/index.html",
    content_type: "text/html; charset=utf-8",
    body: include_bytes!("assets/index.html"),
};

/// Every file, the page among them.
pub(super) const ALL: &[Asset] = &[
    INDEX,
    Asset {
        path: "/app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("assets/app.js"),
    },
    Asset {
        path: "/errors.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("assets/errors.js"),
    },
    Asset {
        path: "/style.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("assets/style.css"),
    },
    Asset {
        path: "/favicon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("assets/favicon.svg"),
    },
];

/// The file served at `path`, if any (`/` is the page).
pub(super) fn find(path: &str) -> Option<&'static Asset> {
    let path = if path == "/" { INDEX.path } else { path };
    ALL.iter().find(|asset| asset.path == path)
}
