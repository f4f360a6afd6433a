//! completions/ and man/ are generated from the clap definitions (and the
//! environment-variable registry); this test regenerates them and compares them
//! byte for byte with the checked-in files. To refresh them after changing the
//! CLI:
//!
//!     VMAUTH_BLESS=1 cargo test --test generated
//!
//! It also checks that groff renders every page without a warning, that the
//! pages are ASCII, and drives the bash completion script in a real bash.

use std::path::PathBuf;
use std::process::Command;

use clap_complete::Shell;
use roff::{Roff, bold, roman};

const BLESS: &str = "VMAUTH_BLESS=1 cargo test --test generated";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every generated file: its path under the repository and its content.
fn generated() -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for (shell, name) in [
        (Shell::Bash, "vmauth.bash"),
        (Shell::Zsh, "_vmauth"),
        (Shell::Fish, "vmauth.fish"),
        (Shell::PowerShell, "_vmauth.ps1"),
        (Shell::Elvish, "vmauth.elv"),
    ] {
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut vmauth::command(), "vmauth", &mut out);
        files.push((PathBuf::from("completions").join(name), out));
    }
    let top = vmauth::command();
    files.push((PathBuf::from("man/vmauth.1"), man_page(top.clone(), true)));
    for sub in top.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("vmauth-{}", sub.get_name());
        // clap takes 'static names (without its `string` feature); a test may leak a few.
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        let page = sub
            .clone()
            .name(leak(name.clone()))
            .bin_name(leak(format!("vmauth {}", sub.get_name())))
            .version(env!("CARGO_PKG_VERSION"));
        files.push((
            PathBuf::from(format!("man/{name}.1")),
            man_page(page, false),
        ));
    }
    files
}

/// One man page: clap_mangen's sections, then EXAMPLES (from the command's
/// examples), EXIT STATUS, ENVIRONMENT (from the registry) and FILES.
fn man_page(cmd: clap::Command, top: bool) -> Vec<u8> {
    let examples = cmd.get_after_help().map(|h| h.to_string());
    // The top page's after-help (exit codes, environment) becomes real sections below.
    let man = clap_mangen::Man::new(
        cmd.clone()
            .after_help(None::<&str>)
            .after_long_help(None::<&str>),
    );
    let mut out = Vec::new();
    man.render_title(&mut out).unwrap();
    man.render_name_section(&mut out).unwrap();
    man.render_synopsis_section(&mut out).unwrap();
    man.render_description_section(&mut out).unwrap();
    man.render_options_section(&mut out).unwrap();
    if cmd.has_subcommands() {
        man.render_subcommands_section(&mut out).unwrap();
    }
    let mut roff = Roff::default();
    if let Some(text) = examples.filter(|_| !top) {
        roff.control("SH", ["EXAMPLES"]).control("nf", []);
        for line in text
            .lines()
            .skip(1)
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            roff.text([roman(line)]);
        }
        roff.control("fi", []);
    }
    roff.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in vmauth::error::EXIT_STATUS {
        roff.control("TP", [])
            .text([bold(code.to_string())])
            .text([roman(*meaning)]);
    }
    roff.control("SH", ["ENVIRONMENT"]);
    for v in vmauth::settings::ENV_VARS {
        let mut meaning = v.meaning.to_string();
        if let Some(d) = v.default {
            meaning.push_str(&format!(" [default: {d}]"));
        }
        roff.control("TP", [])
            .text([bold(v.name)])
            .text([roman(meaning)]);
    }
    roff.control("SH", ["FILES"]);
    for (path, what) in vmauth::cli::FILES {
        roff.control("TP", [])
            .text([bold(*path)])
            .text([roman(*what)]);
    }
    roff.to_writer(&mut out).unwrap();
    man.render_version_section(&mut out).unwrap();
    out
}

#[test]
fn completions_and_man_pages_are_fresh() {
    let bless = std::env::var_os("VMAUTH_BLESS").is_some();
    let mut stale = Vec::new();
    for (path, content) in generated() {
        let full = root().join(&path);
        if std::fs::read(&full).ok().as_deref() != Some(&content[..]) {
            if bless {
                std::fs::create_dir_all(full.parent().unwrap()).unwrap();
                std::fs::write(&full, &content).unwrap();
            } else {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "generated files differ from the CLI definitions: {}; regenerate them with `{BLESS}` and commit",
        stale.join(", ")
    );
}

#[test]
fn man_pages_render_cleanly_and_carry_the_required_sections() {
    for (path, content) in generated()
        .into_iter()
        .filter(|(p, _)| p.starts_with("man"))
    {
        let text = String::from_utf8(content.clone()).unwrap();
        assert!(text.is_ascii(), "{} is not ASCII", path.display());
        for section in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH \"EXIT STATUS\"",
            ".SH ENVIRONMENT",
            ".SH FILES",
            ".SH VERSION",
        ] {
            assert!(text.contains(section), "{}: no {section}", path.display());
        }
        assert!(
            text.contains(env!("CARGO_PKG_VERSION")),
            "{}: no version",
            path.display()
        );
        let out = Command::new("groff")
            .args(["-man", "-ww", "-z"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(&content)?;
                c.wait_with_output()
            })
            .expect("groff is on the machine (Debian: groff-base); see .ci/run");
        assert!(out.status.success(), "{}: {out:?}", path.display());
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "",
            "groff warns about {}",
            path.display()
        );
    }
}

/// What bash completes for the words of `line` (the cursor at its end).
fn bash_complete(line: &str) -> Vec<String> {
    let script = root().join("completions/vmauth.bash");
    let words: Vec<&str> = line.split(' ').collect();
    let program = format!(
        "source {}; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE='{line}'; COMP_POINT={}; _vmauth vmauth '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        words
            .iter()
            .map(|w| format!("'{w}'"))
            .collect::<Vec<_>>()
            .join(" "),
        words.len() - 1,
        line.len(),
        words[words.len() - 1],
        words[words.len().saturating_sub(2)],
    );
    let out = Command::new("bash")
        .args(["-c", &program])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_subcommands_and_options() {
    let mut got = bash_complete("vmauth lo");
    got.sort();
    assert_eq!(got, ["login", "logout"]);
    assert_eq!(bash_complete("vmauth token --out"), ["--output"]);
    let mut formats = bash_complete("vmauth token --output ");
    formats.sort();
    assert_eq!(formats, ["env", "exec-credential", "header", "json", "raw"]);
    assert!(bash_complete("vmauth ").contains(&"completions".to_string()));
}

/// What fish completes for `line` (`complete -C`): the candidates, without
/// their descriptions. Nothing may go to stderr (a script that does not parse).
fn fish_complete(line: &str) -> Vec<String> {
    let script = root().join("completions/vmauth.fish");
    let out = Command::new("fish")
        .args(["--no-config", "-c"])
        .arg(format!(
            "source '{}'; complete -C '{line}'",
            script.display()
        ))
        .output()
        .expect("fish is on the machine (Debian: fish); see .ci/run");
    assert!(out.status.success() && out.stderr.is_empty(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').next().unwrap_or("").to_string())
        .collect()
}

#[test]
fn fish_completes_subcommands_and_options() {
    let mut got = fish_complete("vmauth lo");
    got.sort();
    assert_eq!(got, ["login", "logout"]);
    assert_eq!(fish_complete("vmauth token --out"), ["--output"]);
    let mut formats = fish_complete("vmauth token --output ");
    formats.sort();
    assert_eq!(formats, ["env", "exec-credential", "header", "json", "raw"]);
}

#[test]
fn zsh_loads_the_completion_function() {
    let dir = root().join("completions");
    let out = Command::new("zsh")
        .args(["-f", "-c"])
        .arg(format!(
            "zsh -n '{0}/_vmauth' || exit 3; fpath=('{0}' $fpath); autoload -Uz compinit; compinit -u -D; print -r -- $_comps[vmauth]; autoload +X _vmauth && print -r -- ${{+functions[_vmauth]}}",
            dir.display()
        ))
        .output()
        .expect("zsh is on the machine (Debian: zsh); see .ci/run");
    assert!(out.status.success() && out.stderr.is_empty(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "_vmauth\n1\n");
}

/// Help texts of values end up inside quoted strings of every completion
/// script; a double quote or `$` there broke fish (`$(...)` ran as a command
/// substitution) and unbalanced zsh's strings. (clap escapes backticks.)
#[test]
fn value_help_holds_no_shell_metacharacters() {
    let mut cmd = vmauth::command();
    cmd.build();
    let mut todo = vec![&cmd];
    while let Some(c) = todo.pop() {
        todo.extend(c.get_subcommands());
        for arg in c.get_arguments() {
            for v in arg.get_possible_values() {
                let help = v.get_help().map(|h| h.to_string()).unwrap_or_default();
                assert!(
                    !help.contains(['"', '$']),
                    "{} --{}: {}: {help:?}",
                    c.get_name(),
                    arg.get_id(),
                    v.get_name()
                );
            }
        }
    }
}

/// The `vmauth completions` subcommand prints the same scripts.
#[test]
fn the_completions_subcommand_prints_the_checked_in_scripts() {
    for (shell, file) in [
        ("bash", "vmauth.bash"),
        ("zsh", "_vmauth"),
        ("fish", "vmauth.fish"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_vmauth"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(
            out.stdout,
            std::fs::read(root().join("completions").join(file)).unwrap(),
            "{shell}"
        );
    }
}
