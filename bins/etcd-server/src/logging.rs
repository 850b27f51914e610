//! etcd 3.4's logging flags (`embed/config_logging.go`): `--logger capnslog|zap`,
//! `--log-level debug|info|warn|error|dpanic|panic|fatal`, `--log-outputs` (and the
//! deprecated `--log-output`), and the deprecated `--debug`; the same keys in a config file.
//!
//! `capnslog` (etcd 3.4's default) keeps this server's plain text lines and takes one
//! output: `default`, `stderr` or `stdout`. `zap` writes etcd's JSON lines ([`zap`]) to
//! every output listed: `stderr`, `stdout` or a file path (appended to); `default` (alone)
//! and `systemd/journal` are stderr, which systemd puts in the journal. As in etcd,
//! `--debug` means debug level for capnslog only, and deprecated flags print etcd's
//! `[WARNING]` lines to stderr. `ETCD_RUST_LOG` (a tracing filter) overrides the level.
//! etcd panics on an unknown level; this server refuses it with the same message.

mod zap;

use std::fs::{File, OpenOptions};
use std::path::PathBuf;
use std::sync::Arc;

use clap::ArgMatches;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::writer::{BoxMakeWriter, MakeWriterExt};
use tracing_subscriber::EnvFilter;

use crate::flags;

/// Which log format etcd's `--logger` picked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Logger {
    /// Plain text lines (etcd 3.4's default).
    Capnslog,
    /// JSON lines, as etcd's zap logger.
    Zap,
}

/// Where log lines go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    Stderr,
    Stdout,
    /// Appended to this file.
    File(PathBuf),
}

/// The logging the flags ask for.
#[derive(Debug, PartialEq, Eq)]
pub struct LogConfig {
    pub logger: Logger,
    pub level: LevelFilter,
    pub outputs: Vec<Output>,
    /// etcd's `[WARNING]` lines about deprecated flags, printed before logging starts.
    pub warnings: Vec<String>,
}

/// Logging flags etcd refuses (etcd's messages).
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("unknown logger option {0:?}")]
    UnknownLogger(String),
    #[error("unknown level {0:?}")]
    UnknownLevel(String),
    #[error("--logger=capnslog supports only 1 value in '--log-outputs', got {}", go_strings(.0))]
    CapnslogOutputs(Vec<String>),
    #[error("unknown log-output {0:?} (only supports \"default\", \"stderr\", \"stdout\")")]
    CapnslogOutput(String),
    #[error("multi logoutput for \"default\" is not supported yet")]
    MultiDefault,
    #[error("cannot open log output {}: {source}", path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot install the logger: {0}")]
    Install(String),
}

/// A string list as Go's `%q` prints it: `["a" "b"]`.
fn go_strings(v: &[String]) -> String {
    let quoted: Vec<String> = v.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", quoted.join(" "))
}

/// etcd's `UniqueStringsValue`: comma-separated, deduplicated, sorted.
fn unique_strings(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.split(',').map(str::to_string).collect();
    v.sort();
    v.dedup();
    v
}

/// A `--log-level` value as a tracing level. Tracing has nothing above error, so `dpanic`,
/// `panic` and `fatal` log nothing through it.
fn level(name: &str) -> Result<LevelFilter, LogError> {
    Ok(match name {
        "debug" => LevelFilter::DEBUG,
        "info" => LevelFilter::INFO,
        "warn" => LevelFilter::WARN,
        "error" => LevelFilter::ERROR,
        "dpanic" | "panic" | "fatal" => LevelFilter::OFF,
        other => return Err(LogError::UnknownLevel(other.to_string())),
    })
}

impl LogConfig {
    /// Reads the logging flags of `m`, checking them as etcd does.
    pub fn from_flags(m: &ArgMatches) -> Result<LogConfig, LogError> {
        let mut warnings = Vec::new();
        let log_level = flags::value(m, "log-level");
        let mut level = level(log_level)?;
        let mut names = unique_strings(flags::value(m, "log-outputs"));
        if m.value_source("log-output").is_some() {
            warnings.push(
                "'--log-output' flag has been deprecated! Please use '--log-outputs'!".to_string(),
            );
            if m.value_source("log-outputs").is_none() {
                names = unique_strings(flags::value(m, "log-output"));
            }
        }
        let debug = flags::is_true(m, "debug");
        if debug {
            warnings.push("[WARNING] Deprecated '--debug' flag is set to true (use '--log-level=debug' instead".to_string());
            if log_level != "debug" {
                warnings.push(format!("[WARNING] Deprecated '--debug' flag is set to true with inconsistent '--log-level={log_level}' flag"));
            }
        }
        let logger = match flags::value(m, "logger") {
            "capnslog" => Logger::Capnslog,
            "zap" => Logger::Zap,
            other => return Err(LogError::UnknownLogger(other.to_string())),
        };
        let outputs = match logger {
            Logger::Capnslog => {
                if m.value_source("logger").is_some() {
                    warnings.push("[WARNING] Deprecated '--logger=capnslog' flag is set; use '--logger=zap' flag instead".to_string());
                }
                if debug {
                    level = LevelFilter::DEBUG;
                }
                capnslog_output(&names)?
            }
            Logger::Zap => zap_outputs(&names)?,
        };
        Ok(LogConfig {
            logger,
            level,
            outputs,
            warnings,
        })
    }

    /// Prints the warnings and installs the global tracing subscriber.
    pub fn install(&self) -> Result<(), LogError> {
        for w in &self.warnings {
            eprintln!("{w}");
        }
        let filter = EnvFilter::try_from_env("ETCD_RUST_LOG")
            .unwrap_or_else(|_| EnvFilter::default().add_directive(self.level.into()));
        let writer = self.writer()?;
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(writer)
            .with_ansi(false);
        let installed = match self.logger {
            Logger::Capnslog => builder.try_init(),
            Logger::Zap => builder.event_format(zap::ZapFormat).try_init(),
        };
        installed.map_err(|e| LogError::Install(e.to_string()))
    }

    /// Every output, as one writer.
    fn writer(&self) -> Result<BoxMakeWriter, LogError> {
        let mut all: Option<BoxMakeWriter> = None;
        for output in &self.outputs {
            let one = match output {
                Output::Stderr => BoxMakeWriter::new(std::io::stderr),
                Output::Stdout => BoxMakeWriter::new(std::io::stdout),
                Output::File(path) => BoxMakeWriter::new(Arc::new(open(path)?)),
            };
            all = Some(match all {
                None => one,
                Some(before) => BoxMakeWriter::new(before.and(one)),
            });
        }
        Ok(all.unwrap_or_else(|| BoxMakeWriter::new(std::io::stderr)))
    }
}

/// Opens a log file for appending, creating it (mode 0666 before umask), as zap does.
fn open(path: &PathBuf) -> Result<File, LogError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|source| LogError::Open {
            path: path.clone(),
            source,
        })
}

fn capnslog_output(names: &[String]) -> Result<Vec<Output>, LogError> {
    let [name] = names else {
        return Err(LogError::CapnslogOutputs(names.to_vec()));
    };
    match name.as_str() {
        "default" | "stderr" => Ok(vec![Output::Stderr]),
        "stdout" => Ok(vec![Output::Stdout]),
        other => Err(LogError::CapnslogOutput(other.to_string())),
    }
}

fn zap_outputs(names: &[String]) -> Result<Vec<Output>, LogError> {
    if names.len() > 1 && names.iter().any(|n| n == "default") {
        return Err(LogError::MultiDefault);
    }
    let mut outputs = Vec::new();
    for name in names {
        let output = match name.as_str() {
            "default" | "stderr" | "systemd/journal" => Output::Stderr,
            "stdout" => Output::Stdout,
            path => Output::File(PathBuf::from(path)),
        };
        if !outputs.contains(&output) {
            outputs.push(output);
        }
    }
    Ok(outputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[&str]) -> Result<LogConfig, LogError> {
        let argv = std::iter::once("etcd").chain(args.iter().copied());
        LogConfig::from_flags(&flags::command().try_get_matches_from(argv).unwrap())
    }

    #[test]
    fn defaults_are_capnslog_info_on_stderr() {
        let c = config(&[]).unwrap();
        assert_eq!(
            c,
            LogConfig {
                logger: Logger::Capnslog,
                level: LevelFilter::INFO,
                outputs: vec![Output::Stderr],
                warnings: vec![],
            }
        );
    }

    #[test]
    fn zap_takes_several_outputs_and_files() {
        let c = config(&[
            "--logger",
            "zap",
            "--log-level",
            "warn",
            "--log-outputs",
            "stdout,/tmp/x.log,stdout,stderr",
        ])
        .unwrap();
        assert_eq!(c.logger, Logger::Zap);
        assert_eq!(c.level, LevelFilter::WARN);
        assert_eq!(
            c.outputs,
            [
                Output::File("/tmp/x.log".into()),
                Output::Stderr,
                Output::Stdout
            ]
        );
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn bad_values_get_etcds_errors() {
        let err = |args: &[&str]| config(args).unwrap_err().to_string();
        assert_eq!(err(&["--logger", "foo"]), "unknown logger option \"foo\"");
        assert_eq!(err(&["--log-level", "loud"]), "unknown level \"loud\"");
        assert_eq!(
            err(&["--log-outputs", "stdout,stderr"]),
            "--logger=capnslog supports only 1 value in '--log-outputs', got [\"stderr\" \"stdout\"]"
        );
        assert_eq!(
            err(&["--log-outputs", "/var/log/etcd.log"]),
            "unknown log-output \"/var/log/etcd.log\" (only supports \"default\", \"stderr\", \"stdout\")"
        );
        assert_eq!(
            err(&["--logger=zap", "--log-outputs", "default,stdout"]),
            "multi logoutput for \"default\" is not supported yet"
        );
    }

    #[test]
    fn debug_is_deprecated_and_only_moves_capnslog() {
        let c = config(&["--debug"]).unwrap();
        assert_eq!(c.level, LevelFilter::DEBUG);
        assert_eq!(c.warnings.len(), 2);
        let z = config(&["--debug", "--logger", "zap"]).unwrap();
        assert_eq!(z.level, LevelFilter::INFO);
        let c = config(&["--log-output", "stdout"]).unwrap();
        assert_eq!(c.outputs, [Output::Stdout]);
        assert!(c.warnings[0].contains("'--log-output' flag has been deprecated"));
        assert_eq!(
            config(&["--log-level", "panic"]).unwrap().level,
            LevelFilter::OFF
        );
    }

    #[test]
    fn a_config_file_sets_the_same() {
        let m = crate::config_file::parse(
            "logger: zap\nlog-level: debug\nlog-outputs: [stdout, stderr]\n",
        )
        .unwrap()
        .matches;
        let c = LogConfig::from_flags(&m).unwrap();
        assert_eq!(c.logger, Logger::Zap);
        assert_eq!(c.level, LevelFilter::DEBUG);
        assert_eq!(c.outputs, [Output::Stderr, Output::Stdout]);
    }
}
