//! Configuration, read once at cold start from the function's environment
//! and validated, with errors that name the variable, the value and what is
//! allowed. The names mirror the original sample's parameters.

use crate::domain::window::WindowPlan;
use crate::domain::Epoch;

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

/// Everything the functions are told by the stack.
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
    pub topic_arn: String,
    pub ledger_table: String,
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
}

fn err(variable: &'static str, value: &str, allowed: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        shown: crate::domain::control::shown_value(value),
        allowed: allowed.into(),
    }
}

fn required(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    allowed: &str,
) -> Result<String, ConfigError> {
    match get(variable) {
        Some(v) if !v.trim().is_empty() => Ok(v),
        Some(v) => Err(err(variable, &v, allowed)),
        None => Err(ConfigError {
            variable,
            shown: "(unset)".into(),
            allowed: allowed.into(),
        }),
    }
}

fn integer(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: i64,
    min: i64,
    max: i64,
) -> Result<i64, ConfigError> {
    let allowed = format!("a whole number from {min} to {max} (default {default})");
    match get(variable) {
        None => Ok(default),
        Some(v) if v.is_empty() => Ok(default),
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(err(variable, &v, allowed)),
        },
    }
}

fn is_alias(s: &str) -> bool {
    (1..=15).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads and validates through `get`, so tests need no environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        use vars::*;
        let table_name = required(&get, TABLE_NAME, "the name of an existing DynamoDB table")?;
        let alias = required(
            &get,
            DEPLOYMENT_ALIAS,
            "1 to 15 lower-case letters or digits (^[a-z0-9]{1,15}$)",
        )?;
        if !is_alias(&alias) {
            return Err(err(
                DEPLOYMENT_ALIAS,
                &alias,
                "1 to 15 lower-case letters or digits (^[a-z0-9]{1,15}$)",
            ));
        }
        let bucket = required(
            &get,
            BUCKET,
            "the name of the S3 bucket that receives the exports",
        )?;
        let prefix = get(PREFIX)
            .map(|p| p.trim_matches('/').to_string())
            .filter(|p| !p.is_empty());
        let window_minutes = integer(&get, WINDOW_MINUTES, 15, 15, 1440)?;
        let poll_wait_seconds = integer(&get, POLL_WAIT_SECONDS, 10, 1, 3600)?;
        let format = match get(EXPORT_FORMAT).as_deref() {
            None | Some("") | Some("DYNAMODB_JSON") => ExportFormat::DynamodbJson,
            Some("ION") => ExportFormat::Ion,
            Some(other) => return Err(err(EXPORT_FORMAT, other, "DYNAMODB_JSON or ION")),
        };
        let view_type = match get(EXPORT_VIEW_TYPE).as_deref() {
            None | Some("") | Some("NEW_AND_OLD_IMAGES") => ViewType::NewAndOldImages,
            Some("NEW_IMAGE") => ViewType::NewImage,
            Some(other) => {
                return Err(err(
                    EXPORT_VIEW_TYPE,
                    other,
                    "NEW_AND_OLD_IMAGES or NEW_IMAGE",
                ))
            }
        };
        let max_catch_up_minutes = integer(&get, MAX_CATCH_UP_MINUTES, 1440, window_minutes, 1440)?;
        let topic_arn = required(
            &get,
            TOPIC_ARN,
            "the ARN of the SNS topic for notifications",
        )?;
        let ledger_table = required(&get, LEDGER_TABLE, "the name of the ledger DynamoDB table")?;
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
            topic_arn,
            ledger_table,
        })
    }

    pub fn window_plan(&self) -> WindowPlan {
        WindowPlan {
            size: self.window_minutes * 60,
            max_catch_up: self.max_catch_up_minutes * 60,
        }
    }

    pub fn window_seconds(&self) -> Epoch {
        self.window_minutes * 60
    }

    /// The SSM path of one of the original's parameters.
    pub fn ssm_name(&self, leaf: &str) -> String {
        format!("/incremental-export/{}/{}", self.alias, leaf)
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
            (
                TOPIC_ARN,
                "arn:aws:sns:us-east-1:123456789012:t".to_string(),
            ),
            (LEDGER_TABLE, "orders1-ledger".to_string()),
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
        assert_eq!(
            c.ssm_name("workflow-action"),
            "/incremental-export/orders1/workflow-action"
        );
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
        env.remove(vars::TOPIC_ARN);
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
}
