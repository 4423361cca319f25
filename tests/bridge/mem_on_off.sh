#!/usr/bin/env bash
# Our own restatement of the logic of the kernel's memory-hotplug selftest
# (tools/testing/selftests/memory-hotplug/mem-on-off-test.sh): online every offline hot-pluggable
# block, offline a random RATIO % of the online ones, online everything again, and check that
# onlining an online block is refused; then, where the memory notifier error injection files
# exist under SYSFS_ROOT/kernel/debug, check that an injected error makes onlining and
# offlining fail and that clearing it makes them work again.
# Usage: mem_on_off.sh [SYSFS_ROOT] [RATIO] [SEED]
set -u
sys=${1:-/sys}
mem=$sys/devices/system/memory
inject=$sys/kernel/debug/notifier-error-inject/memory/actions
ratio=${2:-10}
RANDOM=${3:-1}
fail=0

[ -d "$mem" ] || { echo "no $mem" >&2; exit 2; }

blocks_in() {     # removable blocks in state $1, by number
    for d in "$mem"/memory[0-9]*; do
        [ "$(cat "$d/removable")" = 1 ] && [ "$(cat "$d/state")" = "$1" ] && echo "${d##*/memory}"
    done
}
set_state() { echo "$2" 2>/dev/null > "$mem/memory$1/state"; }
state_is() { [ "$(cat "$mem/memory$1/state")" = "$2" ]; }

online_all() {
    for b in $(blocks_in offline); do
        if ! set_state "$b" online || ! state_is "$b" online; then
            echo "memory$b: online failed" >&2
            fail=1
        fi
    done
}

echo "online all hot-pluggable memory"
online_all
echo "offline a random ${ratio}% of the online memory"
offlined=0
for b in $(blocks_in online); do
    [ $((RANDOM % 100)) -lt "$ratio" ] || continue
    # a block holding unmovable pages may refuse (EBUSY), as on real machines
    if set_state "$b" offline; then
        if state_is "$b" offline; then
            offlined=$((offlined + 1))
        else
            echo "memory$b: offline succeeded but the block is $(cat "$mem/memory$b/state")" >&2
            fail=1
        fi
    fi
done
echo "offlined $offlined block(s)"
echo "online all hot-pluggable memory again"
online_all
[ -z "$(blocks_in offline)" ] || { echo "blocks left offline: $(blocks_in offline)" >&2; fail=1; }
b=$(blocks_in online | tail -1)
if set_state "$b" online; then
    echo "memory$b: onlining an online block succeeded (expected EINVAL)" >&2
    fail=1
fi

if [ -d "$inject" ]; then
    echo "notifier error injection: online and offline must fail while armed"
    b=$(blocks_in online | tail -1)
    set_state "$b" offline || { echo "memory$b: offline before the injection test failed" >&2; fail=1; }
    echo -12 > "$inject/MEM_GOING_ONLINE/error"
    if set_state "$b" online; then echo "memory$b: online succeeded despite MEM_GOING_ONLINE -12" >&2; fail=1; fi
    echo 0 > "$inject/MEM_GOING_ONLINE/error"
    set_state "$b" online || { echo "memory$b: online failed after clearing the injection" >&2; fail=1; }
    echo -12 > "$inject/MEM_GOING_OFFLINE/error"
    if set_state "$b" offline; then echo "memory$b: offline succeeded despite MEM_GOING_OFFLINE -12" >&2; fail=1; fi
    echo 0 > "$inject/MEM_GOING_OFFLINE/error"
    state_is "$b" online || { echo "memory$b: not online at the end" >&2; fail=1; }
fi
exit $fail
