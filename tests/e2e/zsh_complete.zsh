# SPDX-License-Identifier: BSD-2-Clause
# Drives zsh's completion system as a user at a terminal would: an
# interactive zsh on a pseudo-terminal (zsh/zpty) sources the script, the
# words are typed, then a Tab. Every match offered is printed, one per line.
# usage: zsh -f zsh_complete.zsh SCRIPT 'WORDS TYPED'
zmodload zsh/zpty || exit 3
zpty z zsh -f -i
zpty -w z "PS1='ZP> ' RPROMPT=''"
zpty -w z "autoload -Uz compinit && compinit -u -D"
zpty -w z "source ${(q)1}"
# Each match added, whichever function adds it: printed on the terminal.
zpty -w z 'compadd() {
	if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
	local -a hits; builtin compadd -A hits "$@"
	local h; for h in $hits; do print -r -- "MAT""CH:$h"; done
	builtin compadd "$@"
}'
zpty -w z 'bindkey "^I" complete-word'
# Type only once the shell has taken all of the above and its line editor
# waits at the prompt after it (input typed before may be flushed).
zpty -w z 'print READY-TO-TYPE-$((6*7))'
local line out=''
zpty -r z out '*READY-TO-TYPE-42*ZP> *' || exit 4
zpty -n -w z "$2"$'\t'
# The marker is printed as 42, typed as 6*7: its echo is not the end.
zpty -w z $'\C-u''print END-OF-MATCHES-$((6*7))'
# Read as it comes (a read may end anywhere in a line), then split.
out=''
while zpty -r z line; do
	out+=$line
	[[ $out == *END-OF-MATCHES-42* ]] && break
done
for part in ${(s:MATCH:)out}; do
	[[ $part == :* ]] && print -r -- "${${${${part#:}%%$'\r'*}%%$'\n'*}%%$'\e'*}"
done
zpty -d z
