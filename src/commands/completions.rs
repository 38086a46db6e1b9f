//! `unitgen completions SHELL`, and the hidden `unitgen __complete apps|namespaces` that the
//! scripts call for the names of the installed apps (read from the unit directory, at the time
//! of the Tab: no list to keep up to date).

use clap::CommandFactory;

use super::{unit_dir, Failure};
use crate::cli::{Cli, CompleteWhat, Global};

/// The commands whose NAME is an installed app.
const APP_COMMANDS: &str =
    "status ls list show describe start stop restart reload scale logs monit signal delete";

/// The command line as completions offer it: hidden commands (`__man`, `__complete`) left out.
fn visible() -> clap::Command {
    let full = Cli::command();
    let mut cmd = clap::Command::new("unitgen")
        .about(full.get_about().cloned().unwrap_or_default())
        .version(env!("CARGO_PKG_VERSION"))
        .propagate_version(true);
    for args in full.get_arguments() {
        cmd = cmd.arg(args.clone());
    }
    cmd.subcommands(full.get_subcommands().filter(|s| !s.is_hide_set()).cloned())
}

/// Print the completion script for `shell` to standard output.
pub fn run(shell: clap_complete::Shell) -> Result<(), Failure> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut visible(), "unitgen", &mut buf);
    let script = String::from_utf8_lossy(&buf).into_owned();
    print!("{}", with_app_names(shell, script));
    Ok(())
}

/// clap's script, plus the completion of NAME with the installed apps (and of `-n` with the
/// installed namespaces), through `unitgen __complete`.
fn with_app_names(shell: clap_complete::Shell, script: String) -> String {
    use clap_complete::Shell;
    match shell {
        Shell::Bash => {
            // clap's `complete` lines name a function that runs clap's, then adds the names.
            let script =
                script.replace("complete -F _unitgen ", "complete -F _unitgen_with_names ");
            format!("{script}{}", BASH.replace("@APP_COMMANDS@", APP_COMMANDS))
        }
        Shell::Zsh => {
            let script = script
                .lines()
                .map(|l| {
                    let is_name = l.starts_with("'::name -- ") || l.starts_with("':name -- ");
                    if is_name && l.ends_with(":_default' \\") {
                        l.replace(":_default' \\", ":_unitgen_apps' \\")
                    } else if l.starts_with("'-n+[The namespace")
                        || l.starts_with("'--namespace=[The namespace")
                    {
                        l.replace(":NS:_default'", ":NS:_unitgen_namespaces'")
                    } else {
                        l.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
            // The helpers go before the last block, which runs or registers `_unitgen`.
            match script.rfind("if [ \"$funcstack[1]\" = \"_unitgen\" ]") {
                Some(i) => format!("{}{ZSH}\n{}\n", &script[..i], &script[i..]),
                None => format!("{script}\n{ZSH}\n"),
            }
        }
        Shell::Fish => format!("{script}{}", FISH.replace("@APP_COMMANDS@", APP_COMMANDS)),
        _ => script,
    }
}

const BASH: &str = r#"
# Installed app names for NAME, installed namespaces for -n (from `unitgen __complete`).
_unitgen_names() {
    local w i sub="" opts=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        w="${COMP_WORDS[i]}"
        case "$w" in
            --user) opts+=(--user) ;;
            --unit-dir) opts+=(--unit-dir "${COMP_WORDS[i+1]}"); ((i++)) ;;
            --color) ((i++)) ;;
            -*) ;;
            *) [ -z "$sub" ] && sub="$w" ;;
        esac
    done
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
    case " @APP_COMMANDS@ " in *" $sub "*) ;; *) return ;; esac
    local what=apps
    case "$prev" in
        -n|--namespace) what=namespaces ;;
        -*) [[ "$cur" == -* ]] && return ;;
    esac
    [[ "$cur" == -* ]] && return
    local names
    names=$(unitgen "${opts[@]}" __complete "$what" 2>/dev/null) || return
    # clap's placeholders (`<NAME>`, `[NAME]`) give way to the names.
    local kept=() r
    # For -n, clap offers files: only namespaces make sense.
    [ "$what" = namespaces ] && COMPREPLY=()
    for r in "${COMPREPLY[@]}"; do
        case "$r" in "<"*|"["*) ;; *) kept+=("$r") ;; esac
    done
    COMPREPLY=("${kept[@]}")
    COMPREPLY+=($(compgen -W "$names" -- "$cur"))
}
_unitgen_with_names() {
    _unitgen "$@"
    _unitgen_names
}
"#;

const ZSH: &str = r#"
# Installed app names for NAME, installed namespaces for -n (from `unitgen __complete`).
(( $+functions[_unitgen_apps] )) ||
_unitgen_apps() {
    local -a names
    names=(${(f)"$(unitgen ${words[(r)--user]} __complete apps 2>/dev/null)"})
    _describe -t apps 'app' names
}
(( $+functions[_unitgen_namespaces] )) ||
_unitgen_namespaces() {
    local -a names
    names=(${(f)"$(unitgen ${words[(r)--user]} __complete namespaces 2>/dev/null)"})
    _describe -t namespaces 'namespace' names
}
"#;

const FISH: &str = r#"
# Installed app names for NAME, installed namespaces for -n (from `unitgen __complete`).
complete -c unitgen -n "__fish_seen_subcommand_from @APP_COMMANDS@; and not __fish_prev_arg_in -n --namespace" -f -a "(unitgen (__fish_seen_argument -l user; and echo -- --user) __complete apps 2>/dev/null)"
complete -c unitgen -n "__fish_seen_subcommand_from @APP_COMMANDS@" -s n -l namespace -x -a "(unitgen (__fish_seen_argument -l user; and echo -- --user) __complete namespaces 2>/dev/null)"
"#;

/// `unitgen __complete apps|namespaces`: one name a line; nothing (and success) when the unit
/// directory cannot be read, so that a Tab never prints an error.
pub fn words(global: &Global, what: CompleteWhat) -> Result<(), Failure> {
    let Ok(installed) = crate::selector::installed(&unit_dir(global)) else {
        return Ok(());
    };
    let names = match what {
        CompleteWhat::Apps => crate::selector::completion_names(&installed),
        CompleteWhat::Namespaces => installed.keys().cloned().collect(),
    };
    for n in names {
        println!("{n}");
    }
    Ok(())
}
