//! A tiny `--flag value` parser, so the examples need no argument-parsing crate.
#![allow(dead_code)]

use std::collections::HashMap;

/// Flags given as `--name value`, and the words that are not flags.
#[derive(Debug, Default)]
pub struct Args {
    flags: HashMap<String, String>,
    pub words: Vec<String>,
}

impl Args {
    /// Parses `args`, which must not include the program name.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        Self::parse_with_switches(args, &[])
    }

    /// Parses `args` like [`parse`](Self::parse), where each of `switches` is a flag without a
    /// value, such as `--all`.
    pub fn parse_with_switches(
        args: impl IntoIterator<Item = String>,
        switches: &[&str],
    ) -> Result<Self, String> {
        let mut parsed = Self::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.strip_prefix("--") {
                Some(name) if switches.contains(&name) => {
                    parsed.flags.insert(name.to_owned(), String::new());
                }
                Some(name) => {
                    let value = args
                        .next()
                        .ok_or_else(|| format!("--{name} needs a value"))?;
                    parsed.flags.insert(name.to_owned(), value);
                }
                None => parsed.words.push(arg),
            }
        }
        Ok(parsed)
    }

    /// The value of `--name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.flags.get(name).map(String::as_str)
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

    /// Fails on a flag not in `known`, so typos are not silently ignored.
    pub fn only(&self, known: &[&str]) -> Result<(), String> {
        match self
            .flags
            .keys()
            .find(|name| !known.contains(&name.as_str()))
        {
            Some(name) => Err(format!("unknown flag --{name}")),
            None => Ok(()),
        }
    }
}
