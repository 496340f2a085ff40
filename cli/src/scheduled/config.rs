//! The audit function's configuration: what the stack tells it (the
//! core's [`AuditSettings`], by the rules of `contracts/config.json`) and
//! the state budget its Lambda memory allows.

use incx_core::config::{AuditSettings, ConfigError};
use incx_core::domain::control::shown_value;

/// Lambda's own variable: the function's memory in MB.
const MEMORY_VARIABLE: &str = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";

/// The state's share of the function's memory: two states (the chain's and
/// the export's part) live at once, with the reader's buffers beside them.
const STATE_SHARE: f64 = 0.4;

/// What the audit reads and where it reports.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditConfig {
    /// What the stack tells it.
    pub stack: AuditSettings,
    /// Bytes of state in memory per state, past which it spills to /tmp.
    pub budget: usize,
}

impl AuditConfig {
    /// Reads the configuration; an error names the variable, its value and
    /// what is allowed.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let memory_text = get(MEMORY_VARIABLE).unwrap_or_default();
        let memory_mb = match memory_text.trim() {
            // Unset outside Lambda: its default size.
            "" => 1024,
            text => text.parse::<u64>().map_err(|_| ConfigError {
                variable: MEMORY_VARIABLE,
                shown: shown_value(&memory_text),
                allowed: "megabytes, a whole number (Lambda sets it)".into(),
            })?,
        };
        let budget = ((memory_mb << 20) as f64 * STATE_SHARE / 2.0) as usize;
        Ok(Self {
            stack: AuditSettings::from_lookup(get)?,
            budget: budget.max(16 << 20),
        })
    }

    /// The audit export's prefix, beside the chain's `AWSDynamoDB/` folder
    /// (as `incx audit` puts it), never taken for a chain export.
    pub fn audit_prefix(&self) -> String {
        match &self.stack.prefix {
            Some(p) if !p.is_empty() => format!("{p}/audit"),
            _ => "audit".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use incx_core::config::vars;
    use std::collections::HashMap;

    fn env(extra: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let mut map: HashMap<String, String> = [
            ("TABLE_NAME", "orders"),
            ("DEPLOYMENT_ALIAS", "demo"),
            ("LEDGER_TABLE", "demo-incremental-export-ledger"),
            ("DATA_EXPORT_BUCKET", "demo-data-export"),
            ("DATA_EXPORT_PREFIX", "/exports/"),
            ("EXPORT_KMS_KEY_ARN", ""),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "3008"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in extra {
            map.insert(k.to_string(), v.to_string());
        }
        move |k| map.get(k).cloned()
    }

    #[test]
    fn reads_the_stack_environment_with_the_templates_default_parts() {
        let c = AuditConfig::from_lookup(env(&[])).unwrap();
        assert_eq!(c.stack.parts, 4);
        assert_eq!(c.stack.prefix.as_deref(), Some("exports"));
        assert_eq!(c.stack.export_kms_key, None, "an empty key is no key");
        assert_eq!(c.audit_prefix(), "exports/audit");
        assert_eq!(c.budget, ((3008u64 << 20) as f64 * 0.2) as usize);
    }

    #[test]
    fn a_part_count_out_of_range_is_named_with_what_is_allowed() {
        for bad in ["0", "257", "four", "-1"] {
            let e = AuditConfig::from_lookup(env(&[(vars::AUDIT_PARTS, bad)])).unwrap_err();
            let text = e.to_string();
            assert!(text.contains(bad) && text.contains("1 to 256"), "{text}");
        }
        let c = AuditConfig::from_lookup(env(&[(vars::AUDIT_PARTS, "16")])).unwrap();
        assert_eq!(c.stack.parts, 16);
    }

    #[test]
    fn a_missing_bucket_is_named() {
        let e = AuditConfig::from_lookup(env(&[("DATA_EXPORT_BUCKET", " ")])).unwrap_err();
        assert_eq!(e.variable, "DATA_EXPORT_BUCKET");
    }

    #[test]
    fn a_memory_size_that_is_not_a_number_is_named() {
        let e = AuditConfig::from_lookup(env(&[(MEMORY_VARIABLE, "3 GB")])).unwrap_err();
        assert_eq!(e.variable, MEMORY_VARIABLE);
        assert!(e.to_string().contains("3 GB"), "{e}");
        let c = AuditConfig::from_lookup(env(&[(MEMORY_VARIABLE, "")])).unwrap();
        assert_eq!(c.budget, ((1024u64 << 20) as f64 * 0.2) as usize);
    }
}
