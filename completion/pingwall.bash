# SPDX-License-Identifier: GPL-2.0-only
# bash completion for pingwall, blockctl and icmpwatch.
#
# Installed once under each command's name (bash-completion loads it lazily by
# name).  The words each command knows are in its "local verbs=" and
# "local *opts=" lines: tests/docs/check-docs.py compares them with --help and
# the man page, so keep them on those lines.

# Interfaces of this host.
_pingwall_ifaces()
{
	local d

	for d in /sys/class/net/*; do
		[[ -e $d ]] && printf '%s\n' "${d##*/}"
	done
}

# The pin dir the command line names (--pin-dir), else the environment's, else
# the default.
_pingwall_pin_dir()
{
	local i

	for ((i = 1; i < ${#words[@]}; i++)); do
		case ${words[i]} in
		--pin-dir)
			printf '%s\n' "${words[i + 1]}"
			return
			;;
		--pin-dir=*)
			printf '%s\n' "${words[i]#--pin-dir=}"
			return
			;;
		esac
	done
	printf '%s\n' "${PINGWALL_PIN_DIR:-/sys/fs/bpf/pingwall}"
}

# Interfaces pingwall is attached to (readable by root only), else all of them.
_pingwall_attached()
{
	local links d

	links="$(_pingwall_pin_dir)/links"
	if [[ -r $links ]]; then
		for d in "$links"/*; do
			[[ -e $d ]] && printf '%s\n' "${d##*/}"
		done
	else
		_pingwall_ifaces
	fi
}

# The blocked prefixes, for del (needs the rights blockctl needs).
_pingwall_blocked()
{
	blockctl --pin-dir "$(_pingwall_pin_dir)" save 2>/dev/null | sed -e '/^#/d'
}

# The first word that is not an option or an option's argument; $1 lists the
# options that take an argument.
_pingwall_verb()
{
	local i

	for ((i = 1; i < cword; i++)); do
		case " $1 " in
		*" ${words[i]} "*)
			((i++))
			continue
			;;
		esac
		case ${words[i]} in
		-*) ;;
		*)
			printf '%s\n' "${words[i]}"
			return
			;;
		esac
	done
}

_pingwall()
{
	local cur prev words cword
	_init_completion -n := || return

	local verbs='attach detach status config'
	local opts='--pin-dir -j --json -p --pretty -v --verbose -h --help -V --version'
	local attach_opts='--mode --max-entries --ring-size --blocklist'
	local detach_opts='--all --purge'
	local status_opts='--prometheus'
	local config_opts='--icmp --events --event-rate'
	local with_arg='--pin-dir --mode --max-entries --ring-size --blocklist --icmp --events
		--event-rate'
	local verb

	case $prev in
	--pin-dir)
		_filedir -d
		return
		;;
	--blocklist)
		_filedir
		return
		;;
	--mode)
		mapfile -t COMPREPLY < <(compgen -W 'auto native generic' -- "$cur")
		return
		;;
	--icmp)
		mapfile -t COMPREPLY < <(compgen -W 'echo all' -- "$cur")
		return
		;;
	--events)
		mapfile -t COMPREPLY < <(compgen -W 'all dropped none' -- "$cur")
		return
		;;
	--max-entries | --ring-size | --event-rate)
		return
		;;
	esac

	verb=$(_pingwall_verb "$with_arg")
	if [[ $cur == -* ]]; then
		case $verb in
		attach) opts="$attach_opts $opts" ;;
		detach) opts="$detach_opts $opts" ;;
		status) opts="$status_opts $opts" ;;
		config) opts="$config_opts $opts" ;;
		esac
		mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
		return
	fi
	case $verb in
	'')
		mapfile -t COMPREPLY < <(compgen -W "$verbs" -- "$cur")
		;;
	attach)
		mapfile -t COMPREPLY < <(compgen -W "$(_pingwall_ifaces)" -- "$cur")
		;;
	detach)
		mapfile -t COMPREPLY < <(compgen -W "$(_pingwall_attached)" -- "$cur")
		;;
	esac
}
complete -F _pingwall pingwall

_blockctl()
{
	local cur prev words cword
	_init_completion -n := || return

	local verbs='add del delete list show flush check load save'
	local opts='--pin-dir -j --json -p --pretty -v --verbose -h --help -V --version'
	local verb

	if [[ $prev == --pin-dir ]]; then
		_filedir -d
		return
	fi
	verb=$(_pingwall_verb --pin-dir)
	if [[ $cur == -* && $cur != - ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
		return
	fi
	case $verb in
	'')
		mapfile -t COMPREPLY < <(compgen -W "$verbs" -- "$cur")
		;;
	del | delete)
		mapfile -t COMPREPLY < <(compgen -W "$(_pingwall_blocked)" -- "$cur")
		__ltrim_colon_completions "$cur"
		;;
	load | save)
		_filedir
		;;
	esac
}
complete -F _blockctl blockctl

_icmpwatch()
{
	local cur prev words cword
	_init_completion -n := || return

	local opts='-j --json -p --pretty -c --count -t --timeout -w --write --print --dropped
		-i --interface --src --dst --addr --type --pin-dir -v --verbose -h --help
		-V --version'
	local types='echo unreach echo-request echo-reply dest-unreach time-exceeded redirect
		param-problem packet-too-big router-advert neighbor-solicit nd mld'

	case $prev in
	-i | --interface)
		mapfile -t COMPREPLY < <(compgen -W "$(_pingwall_ifaces)" -- "$cur")
		return
		;;
	-w | --write)
		_filedir
		return
		;;
	--pin-dir)
		_filedir -d
		return
		;;
	--type)
		# a comma-separated list: complete its last element
		local done=${cur%"${cur##*,}"}

		mapfile -t COMPREPLY < <(compgen -P "$done" -W "$types" -- "${cur##*,}")
		return
		;;
	-c | --count | -t | --timeout | --src | --dst | --addr)
		return
		;;
	esac
	mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
}
complete -F _icmpwatch icmpwatch
