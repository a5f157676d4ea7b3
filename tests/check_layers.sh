#!/usr/bin/env bash
# The agent's include graph points one way (issue 21): a file of agent/ includes headers of its own
# layer or of lower ones, never of a higher one; concerns include only concerns before them in the
# concern order; and no set of modules includes itself round in a circle. `make` runs this.
#
#   tests/check_layers.sh [AGENT_DIR]   check agent/ (or a copy of it); exit 1 naming each problem
#   tests/check_layers.sh --self-test   break a copy of agent/ in each way the check must catch
#
# A module is agent/NAME.c and/or agent/NAME.h. Quoted includes of generated skeletons (*.skel.h,
# skeletons.h) and of include/*.h (the ABI shared with bpf/) are allowed anywhere.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
INCLUDE_DIR=${INCLUDE_DIR:-$ROOT/include}

# Lowest layer first: "name: modules". A file may include its own layer and those above it in
# this list. A layer whose name ends in ">" is ordered: a module there may include only modules
# listed before it (the concern order: sip drives refresh, refresh drives failfast, sendq and
# drops read neigh's and sendq's exports). A new file goes into the layer of what it does; a
# concern split into several files (neigh_*.c) lists its parts, lowest first.
LAYERS=(
	# needs nothing of sipwatch above it (the logger included: incidents reach it as a sink)
	"leaf: strbuf clock decode log ratelimit mapwalk ifname cgroup sockowner rtnl webconfig config kfacts sip_msg sip_table"
	# services the agent and the concerns use, knowing nothing of either
	"infrastructure: metrics process incident http probes probe_catalog hooks status"
	# the event loop, struct agent and struct concern, skeleton loading, kernel BTF questions
	"core: agent"
	# one per BPF object (and the helpers only concerns use: peers)
	"concerns>: neigh_priv neigh neigh_holdings neigh_incidents sendq_priv sendq sendq_sockets sendq_stalls drops peers failfast refresh tcp tcp_policy sip_reg sip_txn sip"
	# what wires everything: the concern list, the HTTP routes, the flag parser, doctor, main
	"top: concerns routes options optdoc doctor doctor_facts main"
)

check() { # AGENT_DIR
	local dir=$1 problems=0 files=0 includes=0
	local -A layer_of=() index_of=() ordered=()
	local -a layer_name=()
	local edges="" i line name mods pos m f base mod hdr t loop

	problem() {
		echo "check_layers: $*"
		problems=$((problems + 1))
	}

	for i in "${!LAYERS[@]}"; do
		line=${LAYERS[$i]}
		name=${line%%:*}
		mods=${line#*:}
		ordered[$i]=0
		if [[ $name == *'>' ]]; then
			ordered[$i]=1
			name=${name%'>'}
		fi
		layer_name[$i]=$name
		pos=0
		for m in $mods; do
			[[ -n ${layer_of[$m]+x} ]] && problem "$m is listed in two layers"
			layer_of[$m]=$i
			index_of[$m]=$pos
			pos=$((pos + 1))
		done
	done

	for f in "$dir"/*.c "$dir"/*.h; do
		[[ -e $f ]] || continue
		base=${f##*/}
		mod=${base%.*}
		files=$((files + 1))
		if [[ -z ${layer_of[$mod]+x} ]]; then
			problem "add agent/$base to a layer in tests/check_layers.sh"
			continue
		fi
		while IFS= read -r hdr; do
			case $hdr in
			*.skel.h | skeletons.h) continue ;;
			esac
			if [[ ! -e $dir/$hdr ]]; then
				[[ -e $INCLUDE_DIR/$hdr ]] && continue
				problem "agent/$base includes \"$hdr\", which is neither in agent/ nor include/"
				continue
			fi
			t=${hdr%.h}
			[[ $t == "$mod" ]] && continue
			# the header's own file is reported above when it is in no layer
			[[ -n ${layer_of[$t]+x} ]] || continue
			includes=$((includes + 1))
			edges+="$mod $t"$'\n'
			if ((layer_of[$t] > layer_of[$mod])); then
				problem "agent/$base includes $hdr: $t is in layer ${layer_name[${layer_of[$t]}]}, above ${layer_name[${layer_of[$mod]}]}"
			elif ((layer_of[$t] == layer_of[$mod] && ordered[${layer_of[$mod]}] &&
				index_of[$t] > index_of[$mod])); then
				problem "agent/$base includes $hdr: $t comes after $mod in the ${layer_name[${layer_of[$mod]}]} order (${LAYERS[${layer_of[$mod]}]#*: })"
			fi
		done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
	done

	# tsort reports every loop it has to break, one member per line after the loop's heading.
	loop=$(printf '%s' "$edges" | tsort 2>&1 >/dev/null |
		sed -n -e 's/^tsort: -: input contains a loop:$/|/p' -e 's/^tsort: \(.*\)$/\1/p' |
		tr '\n' ' ' | sed -e 's/^| //' -e 's/ | /\n/g' -e 's/ $//')
	while IFS= read -r line; do
		[[ -n $line ]] && problem "include cycle among: $line"
	done <<<"$loop"

	if ((problems)); then
		echo "check_layers: FAIL: $problems problem(s) in $dir"
		return 1
	fi
	line="check_layers: OK: $files files, $includes includes between modules, one way and no cycle"
	echo "$line"
}

# Each way of breaking the rule, on a copy of agent/: the check must fail and say why.
self_test() {
	local tmp failed=0 out
	tmp=$(mktemp -d /tmp/sipwatch-layers.XXXXXX) || return 1
	# shellcheck disable=SC2064 # expand now: $tmp is local
	trap "rm -rf '$tmp'" RETURN

	expect() { # DESCRIPTION EXPECTED-EXIT PATTERN SETUP...
		local what=$1 want=$2 pattern=$3 rc
		shift 3
		rm -rf "$tmp/agent"
		cp -r "$ROOT/agent" "$tmp/agent"
		(cd "$tmp/agent" && eval "$*")
		out=$(check "$tmp/agent")
		rc=$?
		if [[ $rc -ne $want ]] || ! grep -qE -- "$pattern" <<<"$out"; then
			echo "self-test FAIL: $what (exit $rc, wanted $want and /$pattern/):"
			printf '%s\n' "$out" | sed 's/^/    /'
			failed=$((failed + 1))
		else
			echo "self-test PASS: $what"
		fi
	}

	expect "the real tree passes" 0 "OK: " true
	expect "generated skeletons and ABI headers are allowed anywhere" 0 "OK: " \
		"printf '#include \"neigh.skel.h\"\n#include \"sipwatch.h\"\n' >>strbuf.c"
	expect "a leaf including the core fails" 1 \
		'agent/strbuf.h includes agent.h: agent is in layer core, above leaf' \
		"printf '#include \"agent.h\"\n' >>strbuf.h"
	expect "infrastructure including a concern fails" 1 \
		'agent/http.c includes neigh.h: neigh is in layer concerns, above infrastructure' \
		"printf '#include \"neigh.h\"\n' >>http.c"
	expect "a concern including a later concern fails" 1 \
		'agent/neigh.c includes sip.h: sip comes after neigh in the concerns order' \
		"printf '#include \"sip.h\"\n' >>neigh.c"
	expect "a cycle inside one layer fails" 1 \
		'include cycle among: .*(clock ifname|ifname clock)' \
		"printf '#include \"ifname.h\"\n' >>clock.h"
	expect "a file in no layer fails" 1 \
		'add agent/selftest_orphan.c to a layer in tests/check_layers.sh' \
		"printf '#include \"log.h\"\n' >selftest_orphan.c"
	expect "an include that names no file fails" 1 \
		'agent/log.c includes "nosuch.h", which is neither in agent/ nor include/' \
		"printf '#include \"nosuch.h\"\n' >>log.c"
	((failed == 0))
}

case "${1:-}" in
--self-test) self_test ;;
-*)
	echo "check_layers.sh: unknown flag $1 (usage: $0 [--self-test | AGENT_DIR])" >&2
	exit 2
	;;
*) check "${1:-$ROOT/agent}" ;;
esac
