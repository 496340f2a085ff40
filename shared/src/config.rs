//! Configuration, read once at cold start from the function's environment
//! and validated, with errors that name the variable, the value and what is
//! allowed. The names mirror the original sample's parameters.
//!
//! [`VARIABLES`] is the one description of every variable: the parser uses
//! it, and a test writes it to `contracts/config.json`, which the template
//! tests read.

use crate::domain::control::shown_value;
use crate::domain::window::WindowPlan;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration: {variable}={shown} is not allowed: {allowed}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub shown: String,
    pub allowed: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    DynamodbJson,
    Ion,
}

impl ExportFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DynamodbJson => "DYNAMODB_JSON",
            Self::Ion => "ION",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewType {
    NewAndOldImages,
    NewImage,
}

impl ViewType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NewAndOldImages => "NEW_AND_OLD_IMAGES",
            Self::NewImage => "NEW_IMAGE",
        }
    }
}

/// What the workflow's functions are told by the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub table_name: String,
    pub alias: String,
    pub bucket: String,
    pub prefix: Option<String>,
    pub window_minutes: i64,
    pub poll_wait_seconds: i64,
    pub format: ExportFormat,
    pub view_type: ViewType,
    pub max_catch_up_minutes: i64,
    /// The KMS key exports are encrypted with (`None`: the bucket's default).
    pub export_kms_key: Option<String>,
    /// On the first run, continue the original sample's chain (its SSM
    /// times and its exports in the bucket) instead of a new full export.
    pub continue_original_chain: bool,
}

/// What `notify` needs, and nothing more: it must work whatever else the
/// configuration says, so that a configuration error reaches the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeConfig {
    /// The table's name, for the messages (`(unset)` when missing).
    pub table_name: String,
    /// The deployment alias, for the ledger's keys (`Err` when invalid:
    /// the ledger's bookkeeping then fails, after the notification).
    pub alias: Result<String, ConfigError>,
}

/// What the scheduled audit is told by the stack: the chain it reads and
/// how many key-hash parts it compares it in. (The memory it sizes its
/// state by is Lambda's own variable, read beside this by the audit.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSettings {
    pub table_name: String,
    pub alias: String,
    pub ledger_table: String,
    pub bucket: String,
    /// The chain's prefix (`None`: the bucket's root).
    pub prefix: Option<String>,
    /// The key the chain's exports are encrypted with, for the audit's own.
    pub export_kms_key: Option<String>,
    pub parts: u32,
}

/// Environment variable names, one place for the functions, the template
/// and the docs.
pub mod vars {
    pub const TABLE_NAME: &str = "TABLE_NAME";
    pub const DEPLOYMENT_ALIAS: &str = "DEPLOYMENT_ALIAS";
    pub const BUCKET: &str = "DATA_EXPORT_BUCKET";
    pub const PREFIX: &str = "DATA_EXPORT_PREFIX";
    pub const WINDOW_MINUTES: &str = "WINDOW_MINUTES";
    pub const POLL_WAIT_SECONDS: &str = "POLL_WAIT_SECONDS";
    pub const EXPORT_FORMAT: &str = "EXPORT_FORMAT";
    pub const EXPORT_VIEW_TYPE: &str = "EXPORT_VIEW_TYPE";
    pub const MAX_CATCH_UP_MINUTES: &str = "MAX_CATCH_UP_MINUTES";
    pub const TOPIC_ARN: &str = "TOPIC_ARN";
    pub const LEDGER_TABLE: &str = "LEDGER_TABLE";
    pub const EXPORT_KMS_KEY_ARN: &str = "EXPORT_KMS_KEY_ARN";
    pub const STATE_MACHINE_ARN: &str = "STATE_MACHINE_ARN";
    pub const CONTINUE_ORIGINAL_CHAIN: &str = "CONTINUE_ORIGINAL_CHAIN";
    pub const AUDIT_PARTS: &str = "AUDIT_PARTS";
}

/// What a variable may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Any non-blank text.
    Text,
    /// `^[a-z0-9]{1,15}$`.
    Alias,
    /// Any text; slashes at either end are trimmed; empty means none.
    Prefix,
    /// Any text; empty or unset means none.
    Optional,
    /// A whole number in `min..=max`; empty or unset means the default.
    Integer { default: i64, min: i64, max: i64 },
    /// One of `values`; empty or unset means the first.
    OneOf { values: &'static [&'static str] },
}

/// One environment variable of the functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variable {
    pub name: &'static str,
    /// The template parameter it comes from, if any (the others name
    /// resources the stack creates).
    pub parameter: Option<&'static str>,
    pub rule: Rule,
    /// What is allowed, in the words of the error messages.
    pub allowed: &'static str,
    /// The functions that read it (the template may set it on more).
    pub readers: &'static [&'static str],
}

/// The four functions that run on the whole [`Config`].
const WORKFLOW: &[&str] = &[
    "decide-mode",
    "start-export",
    "check-status",
    "advance-state",
];
/// The four and the scheduled audit, which reads the same chain.
const CHAIN: &[&str] = &[
    "decide-mode",
    "start-export",
    "check-status",
    "advance-state",
    "audit",
];
/// The five and the audit.
const ALL: &[&str] = &[
    "decide-mode",
    "start-export",
    "check-status",
    "advance-state",
    "notify",
    "audit",
];

/// Every variable the functions read.
pub const VARIABLES: &[Variable] = &[
    Variable {
        name: vars::TABLE_NAME,
        parameter: Some("SourceDynamoDbTableName"),
        rule: Rule::Text,
        allowed: "the name of an existing DynamoDB table",
        readers: ALL,
    },
    Variable {
        name: vars::DEPLOYMENT_ALIAS,
        parameter: Some("DeploymentAlias"),
        rule: Rule::Alias,
        allowed: "1 to 15 lower-case letters or digits (^[a-z0-9]{1,15}$)",
        readers: ALL,
    },
    Variable {
        name: vars::BUCKET,
        parameter: Some("DataExportBucketName"),
        rule: Rule::Text,
        allowed: "the name of the S3 bucket that receives the exports",
        readers: CHAIN,
    },
    Variable {
        name: vars::PREFIX,
        parameter: Some("DataExportBucketPrefix"),
        rule: Rule::Prefix,
        allowed: "an S3 key prefix (empty: the bucket's root)",
        readers: CHAIN,
    },
    Variable {
        name: vars::WINDOW_MINUTES,
        parameter: Some("IncrementalExportWindowSizeInMinutes"),
        rule: Rule::Integer {
            default: 15,
            min: 15,
            max: 1440,
        },
        allowed: "a whole number from 15 to 1440 (default 15)",
        readers: WORKFLOW,
    },
    Variable {
        name: vars::POLL_WAIT_SECONDS,
        parameter: Some("WaitTimeToCheckExportStatusInSeconds"),
        rule: Rule::Integer {
            default: 10,
            min: 1,
            max: 3600,
        },
        allowed: "a whole number from 1 to 3600 (default 10)",
        readers: WORKFLOW,
    },
    Variable {
        name: vars::EXPORT_FORMAT,
        parameter: Some("ExportFormat"),
        rule: Rule::OneOf {
            values: &["DYNAMODB_JSON", "ION"],
        },
        allowed: "DYNAMODB_JSON or ION",
        readers: WORKFLOW,
    },
    Variable {
        name: vars::EXPORT_VIEW_TYPE,
        parameter: Some("ExportViewType"),
        rule: Rule::OneOf {
            values: &["NEW_AND_OLD_IMAGES", "NEW_IMAGE"],
        },
        allowed: "NEW_AND_OLD_IMAGES or NEW_IMAGE",
        readers: WORKFLOW,
    },
    // Its lower bound is the window size; 15 is the window's own minimum.
    Variable {
        name: vars::MAX_CATCH_UP_MINUTES,
        parameter: Some("MaxCatchUpWindowMinutes"),
        rule: Rule::Integer {
            default: 1440,
            min: 15,
            max: 1440,
        },
        allowed: "a whole number from the window size to 1440 (default 1440)",
        readers: WORKFLOW,
    },
    Variable {
        name: vars::TOPIC_ARN,
        parameter: None,
        rule: Rule::Text,
        allowed: "the ARN of the SNS topic for notifications",
        readers: &["notify", "audit"],
    },
    Variable {
        name: vars::LEDGER_TABLE,
        parameter: None,
        rule: Rule::Text,
        allowed: "the name of the ledger DynamoDB table",
        readers: ALL,
    },
    Variable {
        name: vars::EXPORT_KMS_KEY_ARN,
        parameter: Some("DataExportKmsKeyArn"),
        rule: Rule::Optional,
        allowed: "the ARN of the KMS key exports are encrypted with (empty: the bucket's default encryption)",
        readers: &["start-export", "audit"],
    },
    Variable {
        name: vars::STATE_MACHINE_ARN,
        parameter: None,
        rule: Rule::Text,
        allowed: "the ARN of the export state machine (notify starts the next run with it)",
        readers: &["notify"],
    },
    Variable {
        name: vars::CONTINUE_ORIGINAL_CHAIN,
        parameter: Some("ContinueOriginalChain"),
        rule: Rule::OneOf {
            values: &["false", "true"],
        },
        allowed: "true or false (default false)",
        readers: &["decide-mode"],
    },
    Variable {
        name: vars::AUDIT_PARTS,
        parameter: Some("AuditParts"),
        rule: Rule::Integer {
            default: 4,
            min: 1,
            max: 256,
        },
        allowed: "a whole number from 1 to 256 (default 4)",
        readers: &["audit"],
    },
];

/// The description of `name`. Every name in [`vars`] is in [`VARIABLES`]
/// (a test checks it), so a miss is a programming error reported as one.
fn variable(name: &'static str) -> Result<&'static Variable, ConfigError> {
    VARIABLES
        .iter()
        .find(|v| v.name == name)
        .ok_or(ConfigError {
            variable: name,
            shown: "(undescribed)".into(),
            allowed: "a variable described in VARIABLES".into(),
        })
}

fn err(variable: &'static str, value: &str, allowed: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        shown: shown_value(value),
        allowed: allowed.into(),
    }
}

/// Reads variables through a lookup, so tests need no process environment.
pub struct Env<F>(F);

impl<F: Fn(&str) -> Option<String>> Env<F> {
    pub fn new(get: F) -> Self {
        Self(get)
    }

    /// A required, non-blank text.
    pub fn text(&self, name: &'static str) -> Result<String, ConfigError> {
        let var = variable(name)?;
        match (self.0)(name) {
            Some(v) if !v.trim().is_empty() => Ok(v),
            Some(v) => Err(err(name, &v, var.allowed)),
            None => Err(ConfigError {
                variable: name,
                shown: "(unset)".into(),
                allowed: var.allowed.into(),
            }),
        }
    }

    fn alias(&self, name: &'static str) -> Result<String, ConfigError> {
        let value = self.text(name)?;
        let ok = (1..=15).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if ok {
            Ok(value)
        } else {
            Err(err(name, &value, variable(name)?.allowed))
        }
    }

    fn optional(&self, name: &'static str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    fn prefix(&self, name: &'static str) -> Option<String> {
        (self.0)(name)
            .map(|p| p.trim_matches('/').to_string())
            .filter(|p| !p.is_empty())
    }

    /// A whole number within the variable's range, or within `min..=max`
    /// where the range depends on another variable.
    fn integer(&self, name: &'static str, min: Option<i64>) -> Result<i64, ConfigError> {
        let Rule::Integer {
            default,
            min: own_min,
            max,
        } = variable(name)?.rule
        else {
            return Err(err(name, "", "an integer variable"));
        };
        let min = min.unwrap_or(own_min);
        let allowed = format!("a whole number from {min} to {max} (default {default})");
        match (self.0)(name) {
            None => Ok(default),
            Some(v) if v.is_empty() => Ok(default),
            Some(v) => match v.trim().parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(err(name, &v, allowed)),
            },
        }
    }

    /// One of the variable's values (the first when empty or unset).
    fn one_of(&self, name: &'static str) -> Result<&'static str, ConfigError> {
        let var = variable(name)?;
        let Rule::OneOf { values } = var.rule else {
            return Err(err(name, "", "a choice variable"));
        };
        match (self.0)(name).as_deref() {
            None | Some("") => Ok(values[0]),
            Some(v) => values
                .iter()
                .find(|allowed| **allowed == v)
                .copied()
                .ok_or_else(|| err(name, v, var.allowed)),
        }
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads and validates through `get`, so tests need no environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        use vars::*;
        let env = Env::new(get);
        let table_name = env.text(TABLE_NAME)?;
        let alias = env.alias(DEPLOYMENT_ALIAS)?;
        let bucket = env.text(BUCKET)?;
        let prefix = env.prefix(PREFIX);
        let window_minutes = env.integer(WINDOW_MINUTES, None)?;
        let poll_wait_seconds = env.integer(POLL_WAIT_SECONDS, None)?;
        let format = match env.one_of(EXPORT_FORMAT)? {
            "ION" => ExportFormat::Ion,
            _ => ExportFormat::DynamodbJson,
        };
        let view_type = match env.one_of(EXPORT_VIEW_TYPE)? {
            "NEW_IMAGE" => ViewType::NewImage,
            _ => ViewType::NewAndOldImages,
        };
        let max_catch_up_minutes = env.integer(MAX_CATCH_UP_MINUTES, Some(window_minutes))?;
        let export_kms_key = env.optional(EXPORT_KMS_KEY_ARN);
        let continue_original_chain = env.one_of(CONTINUE_ORIGINAL_CHAIN)? == "true";
        Ok(Self {
            table_name,
            alias,
            bucket,
            prefix,
            window_minutes,
            poll_wait_seconds,
            format,
            view_type,
            max_catch_up_minutes,
            export_kms_key,
            continue_original_chain,
        })
    }

    pub fn window_plan(&self) -> WindowPlan {
        WindowPlan {
            size: self.window_minutes * 60,
            max_catch_up: self.max_catch_up_minutes * 60,
        }
    }
}

impl NoticeConfig {
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Never fails: a notice about a broken configuration must still go out.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let table_name = get(vars::TABLE_NAME)
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| "(unset)".into());
        let alias = Env::new(get).alias(vars::DEPLOYMENT_ALIAS);
        Self { table_name, alias }
    }
}

impl AuditSettings {
    /// Reads and validates through `get`, by the same rules as the
    /// workflow's functions for the variables they share.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        use vars::*;
        let env = Env::new(get);
        let parts = env.integer(AUDIT_PARTS, None)?;
        Ok(Self {
            table_name: env.text(TABLE_NAME)?,
            alias: env.alias(DEPLOYMENT_ALIAS)?,
            ledger_table: env.text(LEDGER_TABLE)?,
            bucket: env.text(BUCKET)?,
            prefix: env.prefix(PREFIX),
            export_kms_key: env.optional(EXPORT_KMS_KEY_ARN),
            // The rule's range (1 to 256) fits; the check keeps it so.
            parts: u32::try_from(parts).map_err(|_| {
                err(
                    AUDIT_PARTS,
                    &parts.to_string(),
                    "a whole number from 1 to 256",
                )
            })?,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;

    pub fn base() -> HashMap<&'static str, String> {
        use vars::*;
        HashMap::from([
            (TABLE_NAME, "orders".to_string()),
            (DEPLOYMENT_ALIAS, "orders1".to_string()),
            (BUCKET, "orders1-data-export".to_string()),
        ])
    }

    pub fn load(map: &HashMap<&'static str, String>) -> Result<Config, ConfigError> {
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_match_the_original() {
        let c = load(&base()).unwrap();
        assert_eq!(c.window_minutes, 15);
        assert_eq!(c.poll_wait_seconds, 10);
        assert_eq!(c.format, ExportFormat::DynamodbJson);
        assert_eq!(c.view_type, ViewType::NewAndOldImages);
        assert_eq!(c.max_catch_up_minutes, 1440);
        assert_eq!(c.prefix, None);
    }

    #[test]
    fn errors_name_variable_value_and_range() {
        let cases: &[(&str, &str, &str)] = &[
            (vars::WINDOW_MINUTES, "14", "from 15 to 1440"),
            (vars::WINDOW_MINUTES, "1441", "from 15 to 1440"),
            (vars::WINDOW_MINUTES, "abc", "from 15 to 1440"),
            (vars::POLL_WAIT_SECONDS, "0", "from 1 to 3600"),
            (vars::DEPLOYMENT_ALIAS, "Orders", "^[a-z0-9]{1,15}$"),
            (
                vars::DEPLOYMENT_ALIAS,
                "abcdefghijklmnop",
                "^[a-z0-9]{1,15}$",
            ),
            (vars::EXPORT_FORMAT, "CSV", "DYNAMODB_JSON or ION"),
            (
                vars::EXPORT_VIEW_TYPE,
                "OLD_IMAGE",
                "NEW_AND_OLD_IMAGES or NEW_IMAGE",
            ),
            (vars::MAX_CATCH_UP_MINUTES, "10", "from 15 to 1440"),
            (vars::TABLE_NAME, "", "existing DynamoDB table"),
        ];
        for (var, value, allowed) in cases {
            let mut env = base();
            env.insert(var, value.to_string());
            let e = load(&env).unwrap_err();
            let text = e.to_string();
            assert_eq!(e.variable, *var);
            assert!(text.contains(var) && text.contains(allowed), "{text}");
            if !value.is_empty() {
                assert!(text.contains(value), "{text}");
            }
        }
    }

    #[test]
    fn catch_up_must_be_at_least_the_window() {
        let mut env = base();
        env.insert(vars::WINDOW_MINUTES, "60".into());
        env.insert(vars::MAX_CATCH_UP_MINUTES, "30".into());
        let e = load(&env).unwrap_err();
        assert!(e.to_string().contains("from 60 to 1440"), "{e}");
        env.remove(vars::BUCKET);
        env.insert(vars::MAX_CATCH_UP_MINUTES, "60".into());
        assert!(load(&env).unwrap_err().to_string().contains("(unset)"));
    }

    #[test]
    fn prefix_is_trimmed_of_slashes() {
        let mut env = base();
        env.insert(vars::PREFIX, "/exports/orders/".into());
        assert_eq!(
            load(&env).unwrap().prefix.as_deref(),
            Some("exports/orders")
        );
    }

    #[test]
    fn every_variable_is_described_once() {
        use vars::*;
        let names = [
            TABLE_NAME,
            DEPLOYMENT_ALIAS,
            BUCKET,
            PREFIX,
            WINDOW_MINUTES,
            POLL_WAIT_SECONDS,
            EXPORT_FORMAT,
            EXPORT_VIEW_TYPE,
            MAX_CATCH_UP_MINUTES,
            TOPIC_ARN,
            LEDGER_TABLE,
            EXPORT_KMS_KEY_ARN,
            STATE_MACHINE_ARN,
            CONTINUE_ORIGINAL_CHAIN,
            AUDIT_PARTS,
        ];
        for name in names {
            assert_eq!(
                VARIABLES.iter().filter(|v| v.name == name).count(),
                1,
                "{name}"
            );
        }
        assert_eq!(VARIABLES.len(), names.len());
    }

    #[test]
    fn the_audit_reads_the_chain_by_the_workflow_rules_and_its_parts() {
        let mut env = base();
        env.insert(vars::LEDGER_TABLE, "orders1-ledger".into());
        env.insert(vars::PREFIX, "/exports/".into());
        let read = |env: &HashMap<&'static str, String>| {
            AuditSettings::from_lookup(|k| env.get(k).cloned())
        };
        let a = read(&env).unwrap();
        assert_eq!((a.parts, a.prefix.as_deref()), (4, Some("exports")));
        assert_eq!((a.alias.as_str(), a.export_kms_key), ("orders1", None));
        for (name, bad, allowed) in [
            (vars::AUDIT_PARTS, "0", "from 1 to 256"),
            (vars::AUDIT_PARTS, "257", "from 1 to 256"),
            (vars::AUDIT_PARTS, "four", "from 1 to 256"),
            (vars::DEPLOYMENT_ALIAS, "Orders-1", "lower-case"),
            (vars::BUCKET, " ", "S3 bucket"),
            (vars::LEDGER_TABLE, "", "ledger"),
        ] {
            let mut env = env.clone();
            env.insert(name, bad.into());
            let e = read(&env).unwrap_err();
            assert_eq!(e.variable, name);
            assert!(e.allowed.contains(allowed), "{name}={bad:?}: {e}");
        }
        env.insert(vars::AUDIT_PARTS, "16".into());
        assert_eq!(read(&env).unwrap().parts, 16);
    }

    #[test]
    fn the_notice_configuration_survives_a_broken_environment() {
        let n = NoticeConfig::from_lookup(|k| {
            (k == vars::WINDOW_MINUTES).then(|| "nonsense".to_string())
        });
        assert_eq!(n.table_name, "(unset)");
        assert!(n.alias.is_err());
        let n = NoticeConfig::from_lookup(|k| match k {
            vars::TABLE_NAME => Some("orders".into()),
            vars::DEPLOYMENT_ALIAS => Some("orders1".into()),
            _ => None,
        });
        assert_eq!(n.table_name, "orders");
        assert_eq!(n.alias.as_deref(), Ok("orders1"));
    }
}
