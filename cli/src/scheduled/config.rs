//! The audit function's configuration, from the environment the stack
//! gives it: the workflow's own variables plus the number of parts.

use incx_core::config::vars;

/// How many key-hash parts the comparison is split into.
pub const PARTS_VARIABLE: &str = "AUDIT_PARTS";

/// The state's share of the function's memory: two states (the chain's and
/// the export's part) live at once, with the reader's buffers beside them.
const STATE_SHARE: f64 = 0.4;

/// What the audit reads and where it reports.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditConfig {
    pub table: String,
    pub alias: String,
    pub ledger_table: String,
    pub bucket: String,
    /// The chain's prefix (`None`: the bucket's root).
    pub prefix: Option<String>,
    /// The key the chain's exports are encrypted with, for the audit's own.
    pub kms_key: Option<String>,
    pub parts: u32,
    /// Bytes of state in memory per state, past which it spills to /tmp.
    pub budget: usize,
}

impl AuditConfig {
    /// Reads the configuration; an error names the variable, its value and
    /// what is allowed.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let text = |name: &str| {
            get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let required = |name: &str| text(name).ok_or_else(|| format!("{name} is not set"));
        let parts_text = text(PARTS_VARIABLE).unwrap_or_else(|| "1".into());
        let parts = parts_text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=256).contains(n))
            .ok_or_else(|| {
                format!("{PARTS_VARIABLE}={parts_text:?}: a whole number from 1 to 256")
            })?;
        let memory_text = text("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").unwrap_or_else(|| "1024".into());
        let memory_mb = memory_text.parse::<u64>().map_err(|_| {
            format!("AWS_LAMBDA_FUNCTION_MEMORY_SIZE={memory_text:?}: megabytes, a whole number")
        })?;
        let budget = ((memory_mb << 20) as f64 * STATE_SHARE / 2.0) as usize;
        Ok(Self {
            table: required(vars::TABLE_NAME)?,
            alias: required(vars::DEPLOYMENT_ALIAS)?,
            ledger_table: required(vars::LEDGER_TABLE)?,
            bucket: required(vars::BUCKET)?,
            prefix: text(vars::PREFIX).map(|p| p.trim_matches('/').to_string()),
            kms_key: text(vars::EXPORT_KMS_KEY_ARN),
            parts,
            budget: budget.max(16 << 20),
        })
    }

    /// The audit export's prefix, beside the chain's `AWSDynamoDB/` folder
    /// (as `incx audit` puts it), never taken for a chain export.
    pub fn audit_prefix(&self) -> String {
        match &self.prefix {
            Some(p) if !p.is_empty() => format!("{p}/audit"),
            _ => "audit".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
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
    fn reads_the_stack_environment_with_one_part_by_default() {
        let c = AuditConfig::from_lookup(env(&[])).unwrap();
        assert_eq!(c.parts, 1);
        assert_eq!(c.prefix.as_deref(), Some("exports"));
        assert_eq!(c.kms_key, None, "an empty key is no key");
        assert_eq!(c.audit_prefix(), "exports/audit");
        assert_eq!(c.budget, ((3008u64 << 20) as f64 * 0.2) as usize);
    }

    #[test]
    fn a_part_count_out_of_range_is_named_with_what_is_allowed() {
        for bad in ["0", "257", "four", "-1"] {
            let e = AuditConfig::from_lookup(env(&[(PARTS_VARIABLE, bad)])).unwrap_err();
            assert!(e.contains(bad) && e.contains("1 to 256"), "{e}");
        }
        let c = AuditConfig::from_lookup(env(&[(PARTS_VARIABLE, "16")])).unwrap();
        assert_eq!(c.parts, 16);
    }

    #[test]
    fn a_missing_bucket_is_named() {
        let e = AuditConfig::from_lookup(env(&[("DATA_EXPORT_BUCKET", " ")])).unwrap_err();
        assert_eq!(e, "DATA_EXPORT_BUCKET is not set");
    }
}
