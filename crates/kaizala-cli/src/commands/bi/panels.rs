//! The Grafana dashboards `kaizala bi grafana` writes, declared once: every
//! panel's title, SQL, result format and visualization. The SQL reads the
//! `kz_*` views only (the dashboard contract of docs/schema.md), uses
//! Grafana's PostgreSQL macros only, and has no comments (Grafana strips
//! them before it expands the macros). `tests/grafana.rs` runs every query
//! of the written files against PostgreSQL.

/// A dashboard: one JSON file.
pub(super) struct Dashboard {
    /// Its uid, also the file's name (`<uid>.json`).
    pub uid: &'static str,
    pub title: &'static str,
    /// What it shows.
    pub description: &'static str,
    /// Its panels, top to bottom.
    pub panels: &'static [Panel],
}

/// A panel with one query.
pub(super) struct Panel {
    pub title: &'static str,
    /// What it shows (Grafana shows it on hover).
    pub description: &'static str,
    /// How Grafana draws it.
    pub visual: Visual,
    /// The query; the views are qualified with the sink's schema when it
    /// has one.
    pub sql: &'static str,
    /// Its height in grid rows.
    pub height: u32,
}

/// How a panel is drawn, and so how its query's result is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Visual {
    /// A time series drawn as bars, one series per `metric` (the query's
    /// format is `time_series`).
    Bars,
    /// A table (the query's format is `table`).
    Table,
}

impl Visual {
    /// Grafana's panel type.
    pub fn panel_type(self) -> &'static str {
        match self {
            Visual::Bars => "timeseries",
            Visual::Table => "table",
        }
    }

    /// The query's result format.
    pub fn format(self) -> &'static str {
        match self {
            Visual::Bars => "time_series",
            Visual::Table => "table",
        }
    }
}

/// Every dashboard, in the order they are written.
pub(super) const DASHBOARDS: &[Dashboard] = &[
    Dashboard {
        uid: "kaizala-responses",
        title: "Kaizala: survey responses",
        description: "Responses to surveys and other actions, per day, from kz_responses_daily \
                      and kz_responses.",
        panels: &[
            Panel {
                title: "Responses per day, per survey",
                description: "Responses each day (in the time zone the sink's daily views \
                              use), one series per action.",
                visual: Visual::Bars,
                sql: "SELECT CAST(day AS timestamp) AS \"time\", \
                      COALESCE(action_title, action_id) AS metric, SUM(responses) AS responses\n\
                      FROM kz_responses_daily\n\
                      WHERE $__timeFilter(day)\n\
                      GROUP BY 1, 2\n\
                      ORDER BY 1, 2",
                height: 10,
            },
            Panel {
                title: "Responses per day, per group",
                description: "Responses each day, one series per group.",
                visual: Visual::Bars,
                sql: "SELECT CAST(day AS timestamp) AS \"time\", \
                      COALESCE(group_name, group_id) AS metric, SUM(responses) AS responses\n\
                      FROM kz_responses_daily\n\
                      WHERE $__timeFilter(day)\n\
                      GROUP BY 1, 2\n\
                      ORDER BY 1, 2",
                height: 10,
            },
            Panel {
                title: "Latest responses",
                description: "The latest 100 responses in the time range.",
                visual: Visual::Table,
                sql: "SELECT responded_at AS \"time\", action_title, group_name, \
                      responder_name, is_anonymous, is_update\n\
                      FROM kz_responses\n\
                      WHERE $__timeFilter(responded_at)\n\
                      ORDER BY responded_at DESC\n\
                      LIMIT 100",
                height: 10,
            },
        ],
    },
    Dashboard {
        uid: "kaizala-answers",
        title: "Kaizala: answers",
        description: "How often each option of each single- and multiple-choice question was \
                      chosen, from kz_answer_counts.",
        panels: &[Panel {
            title: "Answer distribution per question",
            description: "Every response so far (not only the time range's): each option of \
                          each choice question, with how many responses chose it.",
            visual: Visual::Table,
            sql: "SELECT COALESCE(action_title, action_id) AS survey, question_title AS question, \
                  answer, responses\n\
                  FROM kz_answer_counts\n\
                  ORDER BY survey, question_index, responses DESC, answer",
            height: 16,
        }],
    },
    Dashboard {
        uid: "kaizala-members",
        title: "Kaizala: members",
        description: "Members joining and leaving groups, from kz_member_changes.",
        panels: &[
            Panel {
                title: "Members joining and leaving per day",
                description: "Member changes each UTC day, one series per kind of change.",
                visual: Visual::Bars,
                sql: "SELECT $__timeGroupAlias(changed_at, '1d'), change_type AS metric, \
                      COUNT(*) AS members\n\
                      FROM kz_member_changes\n\
                      WHERE $__timeFilter(changed_at)\n\
                      GROUP BY 1, 2\n\
                      ORDER BY 1, 2",
                height: 10,
            },
            Panel {
                title: "Latest member changes",
                description: "The latest 100 member changes in the time range.",
                visual: Visual::Table,
                sql: "SELECT changed_at AS \"time\", group_name, member_name, change_type, \
                      by_user_name\n\
                      FROM kz_member_changes\n\
                      WHERE $__timeFilter(changed_at)\n\
                      ORDER BY changed_at DESC\n\
                      LIMIT 100",
                height: 10,
            },
        ],
    },
    Dashboard {
        uid: "kaizala-messages",
        title: "Kaizala: messages",
        description: "Messages in groups, from kz_messages.",
        panels: &[
            Panel {
                title: "Messages per day, per group",
                description: "Messages each UTC day, one series per group.",
                visual: Visual::Bars,
                sql: "SELECT $__timeGroupAlias(sent_at, '1d'), \
                      COALESCE(group_name, group_id) AS metric, COUNT(*) AS messages\n\
                      FROM kz_messages\n\
                      WHERE $__timeFilter(sent_at)\n\
                      GROUP BY 1, 2\n\
                      ORDER BY 1, 2",
                height: 10,
            },
            Panel {
                title: "Latest messages",
                description: "The latest 100 messages in the time range, with who sent them \
                              where.",
                visual: Visual::Table,
                sql: "SELECT sent_at AS \"time\", group_name, sender_name, text\n\
                      FROM kz_messages\n\
                      WHERE $__timeFilter(sent_at)\n\
                      ORDER BY sent_at DESC\n\
                      LIMIT 100",
                height: 12,
            },
        ],
    },
];

/// `sql` with every `kz_*` view qualified by `schema` (`kaizala.kz_messages`),
/// so the queries read the sink's schema whatever the role's search path.
/// Schema names are checked by the sink (lower-case letters, digits and
/// `_`): nothing to quote.
pub(super) fn qualify(sql: &str, schema: Option<&str>) -> String {
    let Some(schema) = schema else {
        return sql.to_owned();
    };
    let mut out = String::with_capacity(sql.len() + 32);
    let mut in_string = false;
    let mut previous: Option<char> = None;
    for (i, c) in sql.char_indices() {
        if c == '\'' {
            in_string = !in_string;
        }
        let starts_word =
            !previous.is_some_and(|p| p.is_ascii_alphanumeric() || p == '_' || p == '.');
        if !in_string && starts_word && sql[i..].starts_with("kz_") {
            out.push_str(schema);
            out.push('.');
        }
        out.push(c);
        previous = Some(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_and_only_views_are_qualified() {
        let sql = "SELECT n, 'kz_y' FROM kz_messages JOIN s.kz_groups, kz_groups WHERE akz_n";
        assert_eq!(qualify(sql, None), sql);
        assert_eq!(
            qualify(sql, Some("kaizala")),
            "SELECT n, 'kz_y' FROM kaizala.kz_messages JOIN s.kz_groups, kaizala.kz_groups \
             WHERE akz_n"
        );
    }

    #[test]
    fn every_query_reads_views_of_the_contract_only() {
        let mut panels = 0;
        for dashboard in DASHBOARDS {
            for panel in dashboard.panels {
                panels += 1;
                let from = panel.sql.split("FROM ").nth(1).unwrap_or_default();
                assert!(from.starts_with("kz_"), "{}: {}", panel.title, panel.sql);
                assert!(!panel.sql.contains("--") && !panel.sql.contains("/*"));
            }
        }
        assert!(DASHBOARDS.len() >= 3 && panels >= 4);
    }
}
