//! Where a setting's value comes from: the environment, else the configuration file, else its
//! default. Each setting is named once, by its environment variable; its key in the file is the
//! same name without the `COFFER_` / `LEPTOS_` prefix, in kebab-case (`COFFER_RATE_LOGIN_PER_MIN`
//! → `rate-login-per-min`), so the two layers can never drift apart.

use std::time::Duration;

use super::ConfigError;

/// The types counts are kept in.
pub(super) trait Count: TryFrom<u64> {
    const MOST: Self;
}

impl Count for u32 {
    const MOST: Self = u32::MAX;
}

impl Count for usize {
    const MOST: Self = usize::MAX;
}

/// The file's keys not read yet, and the environment.
pub(super) struct Source<'a> {
    /// Where the file layer came from, for its errors.
    path: String,
    file: toml::Table,
    env: &'a dyn Fn(&'static str) -> Option<String>,
}

/// The file key of the setting named `variable` in the environment.
pub(super) fn file_key(variable: &str) -> String {
    let bare = variable
        .strip_prefix("COFFER_")
        .or_else(|| variable.strip_prefix("LEPTOS_"))
        .unwrap_or(variable);
    bare.to_ascii_lowercase().replace('_', "-")
}

impl<'a> Source<'a> {
    pub(super) fn new(
        path: String,
        file: toml::Table,
        env: &'a dyn Fn(&'static str) -> Option<String>,
    ) -> Self {
        Self { path, file, env }
    }

    /// A file value of the wrong type, named by its key.
    fn mistyped(&self, key: &str, expected: &str) -> ConfigError {
        ConfigError::File {
            path: self.path.clone(),
            message: format!("`{key}`: expected {expected}"),
        }
    }

    /// The setting `variable`: the environment's value read by `from_env`, else the file's (taken
    /// off the keys still to read) by `from_file`, else `None`. Each says what it expected.
    fn read<T>(
        &mut self,
        variable: &'static str,
        from_env: impl FnOnce(&str) -> Result<T, String>,
        from_file: impl FnOnce(toml::Value) -> Result<T, &'static str>,
    ) -> Result<Option<T>, ConfigError> {
        let key = file_key(variable);
        let in_file = self.file.remove(&key);
        if let Some(raw) = (self.env)(variable) {
            return from_env(&raw)
                .map(Some)
                .map_err(|message| ConfigError::Value {
                    name: variable,
                    value: raw,
                    message,
                });
        }
        in_file
            .map(from_file)
            .transpose()
            .map_err(|expected| self.mistyped(&key, expected))
    }

    /// Text; empty in either layer is unset.
    pub(super) fn optional_text(
        &mut self,
        variable: &'static str,
    ) -> Result<Option<String>, ConfigError> {
        let text = self.read(
            variable,
            |raw| Ok(raw.to_owned()),
            |value| match value {
                toml::Value::String(text) => Ok(text),
                _ => Err("a string"),
            },
        )?;
        Ok(text.filter(|t| !t.is_empty()))
    }

    pub(super) fn text(
        &mut self,
        variable: &'static str,
        default: &str,
    ) -> Result<String, ConfigError> {
        Ok(self
            .optional_text(variable)?
            .unwrap_or_else(|| default.to_owned()))
    }

    /// A whole number ≥ 0, or `None` when neither layer sets it.
    pub(super) fn optional_number(
        &mut self,
        variable: &'static str,
    ) -> Result<Option<u64>, ConfigError> {
        self.read(
            variable,
            |raw| raw.trim().parse::<u64>().map_err(|e| e.to_string()),
            |value| match value {
                toml::Value::Integer(n) => {
                    u64::try_from(n).map_err(|_| "a whole number of 0 or more")
                }
                _ => Err("a whole number"),
            },
        )
    }

    pub(super) fn number(
        &mut self,
        variable: &'static str,
        default: u64,
    ) -> Result<u64, ConfigError> {
        Ok(self.optional_number(variable)?.unwrap_or(default))
    }

    /// A count kept in a smaller type; a larger one is as good as "no limit".
    pub(super) fn count<T: Count>(
        &mut self,
        variable: &'static str,
        default: u64,
    ) -> Result<T, ConfigError> {
        Ok(T::try_from(self.number(variable, default)?).unwrap_or(T::MOST))
    }

    /// A stretch of time, given in `unit`s (`…_SECS`, `…_HOURS`), never shorter than one.
    pub(super) fn period(
        &mut self,
        variable: &'static str,
        default: u64,
        unit: Duration,
    ) -> Result<Duration, ConfigError> {
        let units = u32::try_from(self.number(variable, default)?.max(1)).unwrap_or(u32::MAX);
        Ok(unit.saturating_mul(units))
    }

    pub(super) fn flag(
        &mut self,
        variable: &'static str,
        default: bool,
    ) -> Result<bool, ConfigError> {
        let flag = self.read(
            variable,
            |raw| match raw.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err("expected true or false".into()),
            },
            |value| match value {
                toml::Value::Boolean(b) => Ok(b),
                _ => Err("true or false"),
            },
        )?;
        Ok(flag.unwrap_or(default))
    }

    /// Every key of the file was a setting: a misspelt one is an error, not silently ignored.
    pub(super) fn finish(self) -> Result<(), ConfigError> {
        match self.file.keys().next() {
            None => Ok(()),
            Some(key) => Err(ConfigError::File {
                path: self.path,
                message: format!("unknown key `{key}`"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source<'a>(file: &str, env: &'a dyn Fn(&'static str) -> Option<String>) -> Source<'a> {
        Source::new("coffer.toml".into(), toml::from_str(file).unwrap(), env)
    }

    #[test]
    fn file_keys_are_the_variables_in_kebab_case_without_their_prefix() {
        assert_eq!(file_key("COFFER_RATE_LOGIN_PER_MIN"), "rate-login-per-min");
        assert_eq!(file_key("LEPTOS_SITE_ADDR"), "site-addr");
        assert_eq!(file_key("DATABASE_URL"), "database-url");
    }

    #[test]
    fn the_environment_wins_then_the_file_then_the_default() {
        let env = |name: &'static str| (name == "COFFER_A").then(|| "7".to_owned());
        let mut src = source("a = 3\nb = 4", &env);
        assert_eq!(src.number("COFFER_A", 1).unwrap(), 7);
        assert_eq!(src.number("COFFER_B", 1).unwrap(), 4);
        assert_eq!(src.number("COFFER_C", 1).unwrap(), 1);
        assert!(
            src.finish().is_ok(),
            "a key the environment overrode was still read"
        );
    }

    #[test]
    fn a_file_value_of_the_wrong_type_names_its_key() {
        let env = |_: &'static str| None;
        let mut src = source("scan-worker = \"yes\"\nsweep-interval-secs = -1", &env);
        let err = src
            .flag("COFFER_SCAN_WORKER", true)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`scan-worker`") && err.contains("coffer.toml"),
            "{err}"
        );
        let err = src.number("COFFER_SWEEP_INTERVAL_SECS", 300).unwrap_err();
        assert!(err.to_string().contains("`sweep-interval-secs`"), "{err}");
    }

    #[test]
    fn a_key_no_setting_reads_is_refused() {
        let env = |_: &'static str| None;
        let mut src = source("site-adr = \"x\"", &env);
        assert_eq!(
            src.text("LEPTOS_SITE_ADDR", "127.0.0.1:3000").unwrap(),
            "127.0.0.1:3000"
        );
        let err = src.finish().unwrap_err().to_string();
        assert!(err.contains("unknown key `site-adr`"), "{err}");
    }

    #[test]
    fn counts_saturate_and_periods_last_at_least_one_unit() {
        let env = |name: &'static str| match name {
            "COFFER_BIG" => Some(u64::MAX.to_string()),
            "COFFER_ZERO" => Some("0".into()),
            _ => None,
        };
        let mut src = source("", &env);
        assert_eq!(src.count::<u32>("COFFER_BIG", 1).unwrap(), u32::MAX);
        let hour = Duration::from_secs(3600);
        assert_eq!(src.period("COFFER_ZERO", 24, hour).unwrap(), hour);
        assert_eq!(src.period("COFFER_NONE", 24, hour).unwrap(), 24 * hour);
    }
}
