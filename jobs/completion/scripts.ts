// The shell completion scripts `cmstate completion` prints. Each calls the CLI back with yargs'
// completion request, `cmstate --get-yargs-completions <the words up to the cursor>`, which yargs
// answers in every parse: it runs the command builders (never a handler, so never the Kubernetes
// client) and prints the candidates one a line. yargs formats them for the shell that $SHELL
// names, so each script names its own: a login shell of zsh must not hand bash "name:description".
// yargs also offers a one-letter alias as `--n` after `--`; the scripts drop it (the flag is -n).

export const SHELLS = ['bash', 'zsh'] as const;
export type Shell = (typeof SHELLS)[number];

/** The shell $SHELL names when it is one we have a script for, else bash. */
export function defaultShell(loginShell: string | undefined): Shell {
  return loginShell?.split('/').at(-1) === 'zsh' ? 'zsh' : 'bash';
}

export function completionScript(shell: Shell): string {
  return shell === 'zsh' ? ZSH : BASH;
}

const BASH = `# cmstate completion for bash. In this shell:  source <(cmstate completion bash)
# In every new shell:  cmstate completion bash > ~/.local/share/bash-completion/completions/cmstate
_cmstate_completions() {
  local cur=\${COMP_WORDS[COMP_CWORD]} candidate
  COMPREPLY=()
  # A read loop, not mapfile: macOS still ships bash 3.2.
  while IFS= read -r candidate; do
    [[ $candidate == --? ]] && continue
    [[ $candidate == "$cur"* ]] && COMPREPLY+=("$candidate")
  done < <(SHELL=bash cmstate --get-yargs-completions "\${COMP_WORDS[@]:0:COMP_CWORD+1}" 2>/dev/null)
  return 0
}
# Nothing to offer (a file argument, a task id): bash completes file names.
complete -o bashdefault -o default -F _cmstate_completions cmstate
`;

const ZSH = `#compdef cmstate
# cmstate completion for zsh. In this shell (after compinit):  source <(cmstate completion zsh)
# In every new shell:  cmstate completion zsh > "\${fpath[1]}/_cmstate"
_cmstate() {
  local -a candidates
  # "candidate:description" pairs, as _describe takes them.
  candidates=(\${(f)"$(SHELL=zsh cmstate --get-yargs-completions "\${(@)words[1,CURRENT]}" 2>/dev/null)"})
  candidates=(\${candidates:#--?(|:*)})
  if (( \${#candidates} )); then
    _describe 'cmstate' candidates
  else
    _default
  fi
}
if [[ \${zsh_eval_context[-1]} == loadautofunc ]]; then
  _cmstate "$@"
else
  compdef _cmstate cmstate
fi
`;
