#!/usr/bin/env bash
# Starts (or finds running) a one-node Slurm cluster on this machine for the Slurm backend's
# test: Debian's slurm-wlm and munge, slurmctld and slurmd in the foreground of background
# processes, select/cons_tres, proctrack/linuxproc, no accounting. Prints the SLURM_CONF path on
# its last line. Exits non-zero with the daemons' logs when the cluster does not come up.
set -uo pipefail

dir=${ASSAY_SLURM_DIR:-/tmp/assay-slurm}
conf=$dir/slurm.conf
export SLURM_CONF=$conf

node_state() { sinfo -h -o %T 2>/dev/null | head -n 1; }

if [ -f "$conf" ] && command -v sinfo >/dev/null && [ "$(node_state)" = "idle" ]; then
  echo "$conf"
  exit 0
fi

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >&2 || {
    echo "cannot install slurm-wlm and munge (needs root and Debian's package archive)" >&2
    exit 1
  }
fi

mkdir -p "$dir/state" "$dir/spool"

# munge: a key, then the daemon (it refuses to run as root).
if [ ! -s /etc/munge/munge.key ]; then
  (mungekey --create --force 2>/dev/null || create-munge-key -f) >&2
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
fi
mkdir -p /run/munge && chown munge:munge /run/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged >&2 || echo "munged did not start" >&2
  for _ in $(seq 1 20); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.5; done
fi

host=$(hostname -s)
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
cat > "$conf" <<CONF
ClusterName=assay
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SlurmdTimeout=60
InactiveLimit=0
KillWait=10
MinJobAge=60
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF

# Stop only the daemons this script started earlier (their pids are in $dir), never someone
# else's cluster on a shared machine.
for daemon in slurmctld slurmd; do
  pidfile=$dir/$daemon.started
  if [ -s "$pidfile" ]; then
    pid=$(cat "$pidfile")
    if [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$daemon" ]; then
      kill "$pid" 2>/dev/null
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    fi
    rm -f "$pidfile"
  fi
done
nohup slurmctld -D -c -i -f "$conf" >"$dir/slurmctld.out" 2>&1 &
echo $! >"$dir/slurmctld.started"
sleep 1
nohup slurmd -D -f "$conf" >"$dir/slurmd.out" 2>&1 &
echo $! >"$dir/slurmd.started"

for _ in $(seq 1 60); do
  state=$(node_state)
  case "$state" in
    idle) echo "$conf"; exit 0 ;;
    down*|drain*) scontrol update nodename="$host" state=resume >/dev/null 2>&1 ;;
  esac
  sleep 1
done

echo "the Slurm cluster did not come up (node state: '$(node_state)')" >&2
for f in slurmctld.out slurmctld.log slurmd.out slurmd.log; do
  echo "----- $dir/$f" >&2
  tail -n 40 "$dir/$f" >&2 2>/dev/null
done
exit 1
