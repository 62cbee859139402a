//! `kaizala bi grafana`: Grafana provisioning files for a sink on
//! PostgreSQL — the data source (the read-only role, TLS as the URL says,
//! never the password) and the dashboards of [`super::panels`].
//!
//! Nothing connects to the database: the files are made from the URL.

use std::path::{Path, PathBuf};

use clap::Args;
use kaizala_sink::PostgresDatabase;
use serde_json::{Value, json};

use super::panels::{self, DASHBOARDS, Dashboard, Panel, Visual};
use crate::commands::DbArgs;
use crate::error::{CliError, CliResult};
use crate::temporary::Temporary;

/// Grafana's id of its PostgreSQL data source plugin (before Grafana
/// renamed it, `postgres`; current releases take both).
pub(crate) const DATASOURCE_TYPE: &str = "grafana-postgresql-datasource";
/// The data source's uid, which every panel names.
pub(crate) const DATASOURCE_UID: &str = "kaizala-postgres";
/// The environment variable Grafana reads the role's password from.
pub(crate) const PASSWORD_VAR: &str = "KAIZALA_GRAFANA_PASSWORD";
/// The first line of each provisioning file: how a rerun knows the file is
/// its own to replace.
const MARK: &str = "# Written by `kaizala bi grafana`";

/// `kaizala bi grafana`.
#[derive(Debug, Args)]
pub struct GrafanaArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Write the files here: provisioning/datasources/kaizala.yaml,
    /// provisioning/dashboards/kaizala.yaml and dashboards/kaizala-*.json
    /// (created if missing; files of an earlier run are replaced, any other
    /// file in the way is an error).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The PostgreSQL role Grafana connects as: the role you gave
    /// `kaizala sql grant-readonly` (default: the URL's user).
    #[arg(long, value_name = "ROLE")]
    pub role: Option<String>,
    /// Where Grafana will find the dashboards' JSON files (default:
    /// DIR/dashboards as an absolute path; give the path inside Grafana's
    /// container or machine if it differs).
    #[arg(long, value_name = "PATH")]
    pub dashboards_path: Option<String>,
    /// The CA certificate Grafana checks the server's certificate against,
    /// as a path on Grafana's machine (default: the URL's sslrootcert, as an
    /// absolute path).
    #[arg(long, value_name = "PATH")]
    pub ca_file: Option<String>,
    /// Replace files in the way even if an earlier run did not write them.
    #[arg(long)]
    pub force: bool,
}

/// Writes the provisioning files.
pub async fn run(args: GrafanaArgs) -> CliResult {
    let url = args.db.url();
    let Some(database) = PostgresDatabase::from_url(&url)? else {
        return Err(CliError::new(
            "Grafana's PostgreSQL data source needs the sink on PostgreSQL, and --db names an \
             SQLite database (no Grafana data source for SQLite is provided: run the sink on \
             PostgreSQL, or export to CSV)",
        ));
    };
    let out = std::path::absolute(&args.out)
        .map_err(|err| CliError::new(format!("--out {}: {err}", args.out.display())))?;
    let dashboards_dir = out.join("dashboards");
    let dashboards_path = match &args.dashboards_path {
        Some(path) => path.clone(),
        None => path_text(&dashboards_dir)?,
    };
    let (datasource, note) = datasource(&database, &args)?;
    let mut files = vec![
        (
            out.join("provisioning/datasources/kaizala.yaml"),
            Content::Yaml(datasource),
        ),
        (
            out.join("provisioning/dashboards/kaizala.yaml"),
            Content::Yaml(provider(&dashboards_path)),
        ),
    ];
    for dashboard in DASHBOARDS {
        files.push((
            dashboards_dir.join(format!("{}.json", dashboard.uid)),
            Content::Json(dashboard_json(dashboard, database.schema.as_deref())),
        ));
    }
    if !args.force {
        for (path, content) in &files {
            content.check_replaceable(path)?;
        }
    }
    // Every file is written to a temporary beside it first; only when all
    // are complete are they renamed into place.
    let mut written = Vec::with_capacity(files.len());
    for (path, content) in &files {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|err| CliError::new(format!("cannot create {}: {err}", dir.display())))?;
        }
        let temporary = Temporary::create(path)?;
        std::io::Write::write_all(&mut &temporary.file, content.render().as_bytes())
            .map_err(|err| CliError::new(format!("writing {}: {err}", path.display())))?;
        written.push(temporary);
    }
    for temporary in written {
        temporary.persist()?;
    }
    if let Some(note) = note {
        eprintln!("note: {note}");
    }
    eprintln!(
        "wrote the Grafana data source and {} dashboards in {}: copy provisioning/ into \
         Grafana's provisioning directory, and start Grafana with {PASSWORD_VAR} set to the \
         password of {} (docs/dashboards.md)",
        DASHBOARDS.len(),
        out.display(),
        args.role.as_deref().unwrap_or(&database.user),
    );
    Ok(())
}

/// A file's content.
enum Content {
    /// A provisioning file.
    Yaml(Value),
    /// A dashboard.
    Json(Value),
}

impl Content {
    fn render(&self) -> String {
        match self {
            Content::Yaml(value) => {
                let mut text = format!(
                    "{MARK} {}: rerunning it replaces this file.\n",
                    env!("CARGO_PKG_VERSION")
                );
                yaml(value, 0, &mut text);
                text
            }
            Content::Json(value) => {
                let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
                text.push('\n');
                text
            }
        }
    }

    /// Fails when `path` holds a file an earlier run did not write.
    fn check_replaceable(&self, path: &Path) -> CliResult {
        let Ok(existing) = std::fs::read_to_string(path) else {
            return match path.symlink_metadata() {
                Ok(_) => Err(not_ours(path)),
                Err(_) => Ok(()),
            };
        };
        let ours = match self {
            Content::Yaml(_) => existing.starts_with(MARK),
            Content::Json(value) => serde_json::from_str::<Value>(&existing)
                .is_ok_and(|old| old.get("uid").is_some() && old.get("uid") == value.get("uid")),
        };
        if ours { Ok(()) } else { Err(not_ours(path)) }
    }
}

fn not_ours(path: &Path) -> CliError {
    CliError::new(format!(
        "{} exists and was not written by `kaizala bi grafana`: move it away, or pass --force \
         to replace it",
        path.display()
    ))
}

/// A path as text for a file Grafana reads.
fn path_text(path: &Path) -> CliResult<String> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| CliError::new(format!("{}: not valid UTF-8", path.display())))
}

/// A literal value in a provisioning file: Grafana expands `$NAME`,
/// `${NAME}` and `$__env{NAME}` in every value, and reads `$$` as `$`.
fn literal(text: &str) -> String {
    text.replace('$', "$$")
}

/// The data source, and a note on how the URL's `sslmode` was read.
fn datasource(
    database: &PostgresDatabase,
    args: &GrafanaArgs,
) -> CliResult<(Value, Option<String>)> {
    let user = args.role.as_deref().unwrap_or(&database.user);
    let host = if database.host.contains(':') && !database.host.starts_with('[') {
        format!("[{}]", database.host)
    } else {
        database.host.clone()
    };
    let ca = match (&args.ca_file, &database.sslrootcert) {
        (Some(path), _) => Some(path.clone()),
        (None, Some(path)) => Some(path_text(
            &std::path::absolute(path).unwrap_or_else(|_| path.clone()),
        )?),
        (None, None) => None,
    };
    let (sslmode, note) = grafana_sslmode(database, ca.is_some())?;
    let mut json_data = json!({
        "database": literal(&database.database),
        "sslmode": sslmode,
    });
    if let Some(ca) = ca.filter(|_| sslmode != "disable") {
        json_data["tlsConfigurationMethod"] = json!("file-path");
        json_data["sslRootCertFile"] = json!(literal(&ca));
    }
    let datasource = json!({
        "apiVersion": 1,
        "datasources": [{
            "name": "Kaizala",
            "uid": DATASOURCE_UID,
            "type": DATASOURCE_TYPE,
            "access": "proxy",
            "url": literal(&format!("{host}:{}", database.port)),
            "user": literal(user),
            "editable": false,
            "jsonData": json_data,
            "secureJsonData": {
                // The bare form: Grafana expands it once, so a password
                // with a `$` in it arrives as it is.
                "password": format!("${PASSWORD_VAR}"),
            },
        }],
    });
    Ok((datasource, note))
}

/// Grafana's `sslmode` for the URL's: Grafana knows `disable`, `require`,
/// `verify-ca` and `verify-full`, and checks certificates only against a
/// CA file it is given.
fn grafana_sslmode(
    database: &PostgresDatabase,
    has_ca: bool,
) -> CliResult<(&'static str, Option<String>)> {
    let mode = database.sslmode.as_str();
    Ok(match mode {
        "disable" => ("disable", None),
        "require" => ("require", None),
        "verify-ca" | "verify-full" if !has_ca => {
            return Err(CliError::new(format!(
                "sslmode={mode}: Grafana checks the server's certificate only against a CA \
                 file it is given (not the system's CAs): add sslrootcert=FILE to the URL, or \
                 --ca-file PATH (the CA's path on Grafana's machine)"
            )));
        }
        "verify-ca" => ("verify-ca", None),
        "verify-full" => ("verify-full", None),
        // `prefer` and `allow` (libpq's default is `prefer`): Grafana has
        // neither, so choose by where the server is.
        _ => {
            let local = matches!(database.host.as_str(), "localhost" | "::1" | "[::1]")
                || database.host.starts_with("127.")
                || database.host.starts_with('/');
            let chosen = if local { "disable" } else { "require" };
            let note = format!(
                "sslmode={mode} has no Grafana equivalent: the data source says sslmode={chosen} \
                 (the server is {}); add sslmode=… to the URL to choose",
                if local {
                    "on this machine"
                } else {
                    "elsewhere"
                }
            );
            (chosen, Some(note))
        }
    })
}

/// The dashboards provider: Grafana loads every JSON file of `path`.
fn provider(path: &str) -> Value {
    json!({
        "apiVersion": 1,
        "providers": [{
            "name": "Kaizala",
            "orgId": 1,
            "folder": "Kaizala",
            "type": "file",
            "disableDeletion": false,
            "allowUiUpdates": false,
            "updateIntervalSeconds": 60,
            "options": {
                "path": literal(path),
                "foldersFromFilesStructure": false,
            },
        }],
    })
}

/// A dashboard's JSON.
fn dashboard_json(dashboard: &Dashboard, schema: Option<&str>) -> Value {
    let mut y = 0;
    let panels: Vec<Value> = dashboard
        .panels
        .iter()
        .enumerate()
        .map(|(i, panel)| {
            let json = panel_json(i + 1, panel, y, schema);
            y += panel.height;
            json
        })
        .collect();
    json!({
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": ["kaizala"],
        "timezone": "browser",
        "editable": true,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "5m",
        "time": {"from": "now-30d", "to": "now"},
        "templating": {"list": []},
        "annotations": {"list": []},
        "panels": panels,
    })
}

fn panel_json(id: usize, panel: &Panel, y: u32, schema: Option<&str>) -> Value {
    let datasource = json!({"type": DATASOURCE_TYPE, "uid": DATASOURCE_UID});
    let (field_config, options) = match panel.visual {
        Visual::Bars => (
            json!({
                "defaults": {
                    "unit": "short",
                    "decimals": 0,
                    "custom": {
                        "drawStyle": "bars",
                        "fillOpacity": 80,
                        "lineWidth": 1,
                        "stacking": {"mode": "normal", "group": "A"},
                    },
                },
                "overrides": [],
            }),
            json!({
                "legend": {"displayMode": "list", "placement": "bottom", "showLegend": true},
                "tooltip": {"mode": "multi", "sort": "desc"},
            }),
        ),
        Visual::Table => (
            json!({"defaults": {}, "overrides": []}),
            json!({"showHeader": true, "cellHeight": "sm"}),
        ),
    };
    json!({
        "id": id,
        "type": panel.visual.panel_type(),
        "title": panel.title,
        "description": panel.description,
        "gridPos": {"x": 0, "y": y, "w": 24, "h": panel.height},
        "datasource": datasource,
        "targets": [{
            "refId": "A",
            "datasource": datasource,
            "editorMode": "code",
            "format": panel.visual.format(),
            "rawQuery": true,
            "rawSql": panels::qualify(panel.sql, schema),
        }],
        "fieldConfig": field_config,
        "options": options,
    })
}

/// `value` as block-style YAML, each scalar written as JSON (a JSON string
/// is a YAML double-quoted scalar), indented by `indent` spaces.
fn yaml(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, item) in map {
                out.push_str(&pad);
                out.push_str(&yaml_key(key));
                out.push(':');
                yaml_nested(item, indent + 2, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                out.push_str(&pad);
                out.push_str("- ");
                // The item's first line follows the dash; the rest line up
                // with it.
                let mut nested = String::new();
                yaml(item, indent + 2, &mut nested);
                out.push_str(nested.trim_start());
            }
        }
        scalar => {
            out.push_str(&pad);
            out.push_str(&scalar.to_string());
            out.push('\n');
        }
    }
}

/// A mapping's value after `key:`.
fn yaml_nested(value: &Value, indent: usize, out: &mut String) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            yaml(value, indent, out);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            yaml(value, indent, out);
        }
        scalar => {
            out.push(' ');
            out.push_str(&scalar.to_string());
            out.push('\n');
        }
    }
}

fn yaml_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        key.to_owned()
    } else {
        Value::from(key).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_is_block_style_with_json_scalars() {
        let value = json!({
            "apiVersion": 1,
            "list": [{"name": "a \"b\"", "inner": {"x": true}, "empty": []}, 2],
        });
        let mut text = String::new();
        yaml(&value, 0, &mut text);
        assert_eq!(
            text,
            "apiVersion: 1\nlist:\n  - empty: []\n    inner:\n      x: true\n    \
             name: \"a \\\"b\\\"\"\n  - 2\n"
        );
    }
}
