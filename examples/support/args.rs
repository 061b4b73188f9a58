//! A tiny `--flag value` parser, so the examples need no argument-parsing crate.
//!
//! Each example declares its flags once, as [`Flag`]s: the parser refuses any other flag, knows
//! which take no value, and prints `--help` from the same list. A flag given more than once keeps
//! every value ([`Args::values`]); [`Args::get`] reads the last.
#![allow(dead_code)]

use std::collections::HashMap;

/// A flag an example takes: `--name VALUE`, or `--name` alone when `value` is empty.
#[derive(Debug, Clone, Copy)]
pub struct Flag {
    pub name: &'static str,
    /// What the value is, as `--help` shows it (`HOST:PORT`); empty for a switch.
    pub value: &'static str,
    /// One line: what it does, and its default.
    pub about: &'static str,
}

impl Flag {
    /// `--name VALUE`.
    pub const fn new(name: &'static str, value: &'static str, about: &'static str) -> Self {
        Self { name, value, about }
    }

    /// `--name`, without a value.
    pub const fn switch(name: &'static str, about: &'static str) -> Self {
        Self::new(name, "", about)
    }

    fn is_switch(&self) -> bool {
        self.value.is_empty()
    }

    /// `--name VALUE`, as usage lines and `--help` show it.
    pub fn usage(&self) -> String {
        if self.is_switch() {
            format!("--{}", self.name)
        } else {
            format!("--{} {}", self.name, self.value)
        }
    }
}

/// The flags of `flags`, one a line: the flag, then what it does, in a column.
pub fn describe(flags: &[Flag]) -> String {
    let width = flags
        .iter()
        .map(|flag| flag.usage().len())
        .chain([HELP_USAGE.len()])
        .max()
        .unwrap_or_default();
    let mut lines: Vec<String> = flags
        .iter()
        .map(|flag| format!("  {:<width$}  {}", flag.usage(), flag.about))
        .collect();
    lines.push(format!("  {HELP_USAGE:<width$}  print this help and exit"));
    lines.join("\n")
}

const HELP_USAGE: &str = "-h, --help";

/// Says what is wrong with the command line on stderr and exits with 2: for a flag's value that
/// is refused after parsing, as for an unknown flag.
pub fn exit_usage(error: &str) -> ! {
    eprintln!("error: {error} (--help lists the flags)");
    std::process::exit(2);
}

/// Flags given as `--name value`, and the words that are not flags.
#[derive(Debug, Default)]
pub struct Args {
    /// Every value of each flag given, in the order given.
    flags: HashMap<String, Vec<String>>,
    pub words: Vec<String>,
}

impl Args {
    /// Parses the process's arguments against `flags`. On `-h` or `--help` anywhere, prints
    /// `help` and exits with 0; on a mistake, says so on stderr and exits with 2.
    pub fn from_env(flags: &[Flag], help: &str) -> Self {
        let args: Vec<String> = std::env::args().skip(1).collect();
        if args.iter().any(|arg| arg == "--help" || arg == "-h") {
            println!("{help}");
            std::process::exit(0);
        }
        Self::parse(args, flags).unwrap_or_else(|error| exit_usage(&error))
    }

    /// Parses `args`, which must not include the program name: every flag must be one of
    /// `flags`, and takes a value unless it is a switch.
    pub fn parse(args: impl IntoIterator<Item = String>, flags: &[Flag]) -> Result<Self, String> {
        let mut parsed = Self::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let Some(name) = arg.strip_prefix("--") else {
                parsed.words.push(arg);
                continue;
            };
            let flag = flags
                .iter()
                .find(|flag| flag.name == name)
                .ok_or_else(|| format!("unknown flag --{name}"))?;
            let value = if flag.is_switch() {
                String::new()
            } else {
                args.next()
                    .ok_or_else(|| format!("--{name} needs a value ({})", flag.value))?
            };
            parsed.flags.entry(name.to_owned()).or_default().push(value);
        }
        Ok(parsed)
    }

    /// The value of `--name`; the last one if it was given more than once.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values(name).last().map(String::as_str)
    }

    /// Every value of `--name`, in the order given: for a flag that may be repeated.
    pub fn values(&self, name: &str) -> &[String] {
        self.flags.get(name).map_or(&[], Vec::as_slice)
    }

    /// Whether `--name` was given.
    pub fn has(&self, name: &str) -> bool {
        self.flags.contains_key(name)
    }

    /// The value of `--name`, or an error saying it is needed.
    pub fn require(&self, name: &str) -> Result<&str, String> {
        self.get(name)
            .ok_or_else(|| format!("--{name} is required"))
    }

    /// The value of `--name` parsed as a number of seconds, or `default`.
    pub fn seconds(
        &self,
        name: &str,
        default: std::time::Duration,
    ) -> Result<std::time::Duration, String> {
        match self.get(name) {
            None => Ok(default),
            Some(text) => text
                .parse()
                .map(std::time::Duration::from_secs)
                .map_err(|_| format!("--{name}: {text:?} is not a whole number of seconds")),
        }
    }

    /// Fails on a flag not in `known`: for a command that takes only some of the flags parsed.
    pub fn only(&self, known: &[Flag]) -> Result<(), String> {
        match self
            .flags
            .keys()
            .find(|name| !known.iter().any(|flag| flag.name == name.as_str()))
        {
            Some(name) => Err(format!("unknown flag --{name}")),
            None => Ok(()),
        }
    }
}
