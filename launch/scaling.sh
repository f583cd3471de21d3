#!/usr/bin/env bash
# Scaling sweeps: trains the same model on several rank counts and reports throughput,
# speed-up, parallel efficiency and (exposed) communication time.
#   strong scaling: the GLOBAL batch is fixed; N ranks split it (each gets batch/N rows)
#   weak scaling:   the PER-RANK batch is fixed; the global batch grows with N
# Each run keeps OUT/<mode>/ranks<N>/{metrics.jsonl,config.json,stdout.log,cmd.txt}; then
# launch/report.py writes OUT/scaling.md, OUT/scaling.json, OUT/throughput.png and
# OUT/efficiency.png.  Run `launch/scaling.sh --help` for the options.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=mpi-env.sh
source "$here/mpi-env.sh"

usage() {
  cat <<'EOF'
Usage: launch/scaling.sh [--quick] --out DIR [options]

Runs dptrain on every rank count of --ranks, in strong and/or weak scaling, then writes
DIR/scaling.md (tables), DIR/scaling.json (the same numbers), DIR/throughput.png and
DIR/efficiency.png (launch/report.py; needs matplotlib, Debian: python3-matplotlib).

  --quick               small, fast defaults for a laptop or a 2-core CI machine: the default
                        MLP, ranks 1,2,4 (oversubscribed when ranks > cores), both modes,
                        200 steps (first 20 dropped), strong global batch 256, weak 64 per rank
  --out DIR             where the runs and the report go (required); a sweep already there is
                        moved whole to DIR/previous-<time>/ first (launch/report.py reports it)
  --ranks LIST          comma-separated rank counts                       [1,2,4]
  --mode MODE           strong | weak | both                               [both]
  --steps N             training steps per run                             [500; quick 200]
  --warmup N            first steps of every run left out of the statistics [50; quick 20]
  --batch-size B        strong scaling: the GLOBAL batch (divisible by every rank count) [512; quick 256]
  --per-rank-batch b    weak scaling: rows per rank (global batch = N*b)   [128; quick 64]
  --model M             dptrain --model (mlp, mlp-large, linreg)           [mlp]
  --hidden H            dptrain --hidden (comma-separated widths)          [the model's]
  --bucket-mb X         dptrain --bucket-mb (0 = one all-reduce after backward) [dptrain's]
  --threads T           BLAS threads per rank (0 = dptrain's automatic share of the node; with
                        mpirun, --bind-to none is added so a rank is not pinned to one core) [1]
  --dptrain PATH        the dptrain binary                                 [build/dptrain]
  --extra "ARGS"        more dptrain arguments for every run, split on spaces (e.g. "--data synthetic-linreg")
  --launcher "CMD"      launcher; "-n N" is appended                       [mpirun]
                        (e.g. "srun --mpi=pmix" inside a Slurm allocation)
  --mpi-args "ARGS"     launcher arguments for every run (e.g. "--hostfile hosts --map-by ppr:4:node
                        --bind-to core"); with mpirun, launch/mpi-env.sh adds --oversubscribe and
                        the root variables only where this machine needs them
  --timeout S           seconds one run may take; then it is stopped (SIGUSR1: checkpoint and
                        exit; SIGKILL 60 s later) and the sweep ends with exit 124 [900]
  --model-prediction F  JSON {"strong": {"<ranks>": step_ms}, "weak": {...}} passed to
                        report.py (adds predicted step ms and error % columns)
  --dry-run             print the commands, run nothing
  -h, --help            this text

Re-run only the report (e.g. with a prediction):  launch/report.py DIR [--model-prediction F]
Examples:
  launch/scaling.sh --quick --out /tmp/scale-quick
  launch/scaling.sh --out scale-large --model mlp-large --ranks 1,2,4,8 --steps 60 --warmup 10 \
      --batch-size 256 --per-rank-batch 64 --bucket-mb 25
  launch/scaling.sh --out scale-2nodes --ranks 8,16,32 --mpi-args "--hostfile hosts --map-by ppr:16:node"
EOF
}

die() { echo "scaling.sh: error: $*" >&2; exit 2; }
orig_args=("$@")

# ------------------------------------------------------------------ options
quick=0 out="" ranks="" mode="" steps="" warmup="" batch="" per_rank="" model="" hidden=""
bucket="" threads="" dptrain="" extra="" launcher="mpirun" mpi_args="" run_timeout=900
prediction="" dry_run=0
need_value() { [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a value"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --out|--ranks|--mode|--steps|--warmup|--batch-size|--per-rank-batch|--model|--hidden|--bucket-mb|\
    --threads|--dptrain|--extra|--launcher|--mpi-args|--timeout|--model-prediction)
      [[ $# -ge 2 ]] || die "$1 needs a value"
      case "$1" in --extra|--mpi-args|--hidden) ;; *) [[ -n $2 ]] || die "$1 needs a value" ;; esac
      case "$1" in
        --out) out=$2 ;; --ranks) ranks=$2 ;; --mode) mode=$2 ;; --steps) steps=$2 ;;
        --warmup) warmup=$2 ;; --batch-size) batch=$2 ;; --per-rank-batch) per_rank=$2 ;;
        --model) model=$2 ;; --hidden) hidden=$2 ;; --bucket-mb) bucket=$2 ;;
        --threads) threads=$2 ;; --dptrain) dptrain=$2 ;; --extra) extra=$2 ;;
        --launcher) launcher=$2 ;; --mpi-args) mpi_args=$2 ;; --timeout) run_timeout=$2 ;;
        --model-prediction) prediction=$2 ;;
      esac
      shift 2 ;;
    --*=*) opt=${1%%=*}; val=${1#*=}; shift; set -- "$opt" "$val" "$@" ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

if (( quick )); then
  : "${ranks:=1,2,4}" "${mode:=both}" "${steps:=200}" "${warmup:=20}" "${batch:=256}" "${per_rank:=64}"
else
  : "${ranks:=1,2,4}" "${mode:=both}" "${steps:=500}" "${warmup:=50}" "${batch:=512}" "${per_rank:=128}"
fi
: "${model:=mlp}" "${threads:=1}" "${dptrain:=$root/build/dptrain}"

[[ -n "$out" ]] || die "--out DIR is required (see --help)"
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
for v in steps warmup batch per_rank threads; do
  is_uint "${!v}" || die "--${v//_/-} must be a non-negative integer, got '${!v}'"
done
is_uint "$run_timeout" && (( run_timeout > 0 )) || die "--timeout must be a positive number of seconds, got '$run_timeout'"
[[ ! -e $out || -d $out ]] || die "--out $out exists and is not a directory"
(( steps >= 1 )) || die "--steps must be >= 1"
(( warmup < steps )) || die "--warmup ($warmup) must be smaller than --steps ($steps)"
case "$mode" in
  strong) modes=(strong) ;; weak) modes=(weak) ;; both) modes=(strong weak) ;;
  *) die "--mode must be strong, weak or both, got '$mode'" ;;
esac
IFS=, read -r -a rank_list <<<"$ranks"
[[ ${#rank_list[@]} -ge 1 ]] || die "--ranks is empty"
for n in "${rank_list[@]}"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || die "--ranks must be positive integers separated by commas, got '$ranks'"
done
[[ $(printf '%s\n' "${rank_list[@]}" | sort -u | wc -l) -eq ${#rank_list[@]} ]] ||
  die "--ranks lists a rank count twice: '$ranks'"
[[ -z "$prediction" || -f "$prediction" ]] || die "--model-prediction: no such file: $prediction"
[[ -z "$bucket" || $bucket =~ ^[0-9]*\.?[0-9]+$ ]] || die "--bucket-mb must be a number >= 0, got '$bucket'"
[[ ! " $extra " =~ \ --(run-dir|checkpoint-dir|resume)[\ =] ]] ||
  die "--extra must not set --run-dir, --checkpoint-dir or --resume: every run gets its own OUT/<mode>/ranks<N>"

# Every configuration is checked before anything runs: a sweep should not die at its last run
# (here the batch arithmetic; below, dptrain --dry-run checks the rest).
for m in "${modes[@]}"; do
  for n in "${rank_list[@]}"; do
    if [[ $m == strong ]]; then
      (( batch >= n && batch % n == 0 )) ||
        die "strong scaling: --batch-size $batch does not divide evenly over $n ranks (choose a multiple of every rank count)"
    else
      (( per_rank >= 1 )) || die "weak scaling: --per-rank-batch must be >= 1"
    fi
  done
done

# Interrupted before the first run (the checks below take a second or two): say so.
arm_early_traps() {
  trap 'echo "scaling.sh: interrupted before the first run: nothing ran" >&2; exit 130' INT
  trap 'echo "scaling.sh: terminated before the first run: nothing ran" >&2; exit 143' TERM
  trap - HUP
}
arm_early_traps

if [[ $dptrain != /* ]]; then
  [[ -x $dptrain ]] && dptrain="$(pwd)/$dptrain" || dptrain="$root/$dptrain"
fi
if (( ! dry_run )); then
  [[ -x "$dptrain" ]] || die "dptrain binary not found or not executable: $dptrain
  build it: cmake -S $root -B $root/build -G Ninja -DCMAKE_BUILD_TYPE=Release -DDPTRAIN_BUILD_TESTS=OFF && ninja -C $root/build dptrain
  or pass --dptrain PATH"
  read -r -a launcher_words <<<"$launcher"
  command -v "${launcher_words[0]}" >/dev/null ||
    die "launcher '${launcher_words[0]}' not found on PATH (Debian: openmpi-bin; or pass --launcher)"
fi
read -r -a launcher_words <<<"$launcher"
read -r -a mpi_arg_words <<<"$mpi_args"
read -r -a extra_words <<<"$extra"
launcher_name=$(basename "${launcher_words[0]}")
# Ranks on other hosts (a hostfile, a host list, or a Slurm launcher): this machine's core
# count says nothing about them, so no --oversubscribe and no † judgement here.
multi_host=0
[[ " $mpi_args " =~ \ (--hostfile|-hostfile|--machinefile|-machinefile|--host|-host|-H)[\ =] ||
   $launcher_name == srun ]] && multi_host=1

if (( ! dry_run )); then
  mkdir -p "$out" 2>/dev/null || die "--out $out: cannot create the directory"
  [[ -w $out && -x $out ]] || die "--out $out: the directory is not writable"
fi

# Every configuration is checked before the first run: dptrain --dry-run on one rank with
# each mode's largest global batch (the data set must hold it) and the --extra arguments.
if (( ! dry_run )); then
  dptrain_mpi_flags 1
  for m in "${modes[@]}"; do
    if [[ $m == strong ]]; then
      global=$batch
    else
      global=$(( per_rank * $(printf '%s\n' "${rank_list[@]}" | sort -n | tail -n 1) ))
    fi
    # A run dir that does not exist: a dry run creates nothing, but flags such as
    # --checkpoint-every need one to be named.
    check=("$dptrain" --dry-run --progress none --run-dir "$out/.dry-run-check" --model "$model" ${hidden:+--hidden "$hidden"}
           --steps "$steps" --batch-size "$global" ${bucket:+--bucket-mb "$bucket"} --threads 1 "${extra_words[@]}")
    if ! check_out=$("${check[@]}" 2>&1); then
      why="$m scaling: the run with global batch $global would fail:
$(grep -m3 'error' <<<"$check_out" | sed 's/^/    /')
  (checked on this machine with: ${check[*]})"
      # The ranks of a hostfile or srun sweep run elsewhere: this machine may lack what they have.
      if (( multi_host )); then echo "scaling.sh: warning: $why" >&2; else die "$why"; fi
    fi
  done
fi
[[ -d "$out" ]] && out=$(cd "$out" && pwd)

# A sweep already in --out is moved aside whole (its runs, its report and sweep.json) to
# OUT/previous-<time>/, where launch/report.py can still report it: nothing of it is lost,
# even when this sweep is stopped early, and this sweep's report sees only its own runs.
if (( ! dry_run )); then
  previous=()
  for f in sweep.json scaling.md scaling.json throughput.png efficiency.png strong weak; do
    [[ -e $out/$f ]] && previous+=("$f")
  done
  if (( ${#previous[@]} )); then
    aside="$out/previous-$(date +%Y%m%d-%H%M%S)"
    k=1
    while [[ -e $aside ]]; do aside="$out/previous-$(date +%Y%m%d-%H%M%S)-$k"; k=$((k + 1)); done
    mkdir "$aside" || die "cannot create $aside for the previous sweep in $out"
    trap '' INT TERM HUP  # the move is not cut in half: the previous sweep stays whole
    for f in "${previous[@]}"; do mv "$out/$f" "$aside/" || die "cannot move $out/$f to $aside"; done
    arm_early_traps
    echo "scaling.sh: moved the previous sweep in $out to $aside (its report: launch/report.py $aside)"
  fi
fi

# ------------------------------------------------------------------ provenance
json_str() {  # a bash string as a JSON string literal
  local s=$1
  s=${s//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\t'/\\t}; s=${s//$'\n'/\\n}; s=${s//$'\r'/\\r}
  printf '"%s"' "$s"
}
json_list() { local sep="" x; printf '['; for x in "$@"; do printf '%s%s' "$sep" "$(json_str "$x")"; sep=", "; done; printf ']'; }
cpu_model=$(grep -m1 -i '^model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
git_commit=$(git -C "$root" rev-parse HEAD 2>/dev/null || true)
git_dirty=false
if [[ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null || true)" ]]; then git_dirty=true; fi
read -r load1 load5 load15 _ </proc/loadavg 2>/dev/null || load1=null load5=null load15=null
cores=$(nproc)
cores_online=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "$cores")

if (( ! dry_run )); then
  {
    printf '{\n'
    printf '  "created": %s,\n' "$(json_str "$(date -Iseconds)")"
    printf '  "command": %s,\n' "$(json_str "$0 ${orig_args[*]:-}")"
    printf '  "host": %s,\n' "$(json_str "$(hostname)")"
    printf '  "cores": %s,\n  "cores_online": %s,\n' "$cores" "$cores_online"
    printf '  "cpu_model": %s,\n' "$(json_str "$cpu_model")"
    printf '  "loadavg_at_start": [%s, %s, %s],\n' "$load1" "$load5" "$load15"
    printf '  "git_commit": %s,\n  "git_dirty": %s,\n' "$(json_str "$git_commit")" "$git_dirty"
    printf '  "dptrain": %s,\n' "$(json_str "$dptrain")"
    printf '  "quick": %s,\n' "$( ((quick)) && echo true || echo false)"
    printf '  "modes": %s,\n' "$(json_list "${modes[@]}")"
    printf '  "ranks": [%s],\n' "$(IFS=,; r="${rank_list[*]}"; echo "${r//,/, }")"
    printf '  "steps": %s,\n  "warmup": %s,\n' "$steps" "$warmup"
    printf '  "batch_size": %s,\n  "per_rank_batch": %s,\n' "$batch" "$per_rank"
    printf '  "model": %s,\n  "hidden": %s,\n' "$(json_str "$model")" "$(json_str "$hidden")"
    printf '  "bucket_mb": %s,\n  "threads": %s,\n' "$(json_str "$bucket")" "$threads"
    printf '  "extra": %s,\n' "$(json_str "$extra")"
    printf '  "multi_host": %s,\n' "$( ((multi_host)) && echo true || echo false)"
    printf '  "launcher": %s,\n  "mpi_args": %s\n' "$(json_str "$launcher")" "$(json_str "$mpi_args")"
    printf '}\n'
  } >"$out/sweep.json"
fi

# ------------------------------------------------------------------ the runs
# --threads 0 (dptrain's share of the node per rank) means little if mpirun pins each rank
# to one core, as it does by default for 1 or 2 ranks: then every rank gets 1 thread.
auto_bind=()
if (( threads == 0 )) && [[ ($launcher_name == mpirun || $launcher_name == mpiexec) &&
                           ! " $mpi_args " =~ \ --?bind-to[\ =]|PE= ]]; then
  auto_bind=(--bind-to none)
  echo "scaling.sh: --threads 0: adding --bind-to none, so each rank may use its share of the cores"
fi
total=$(( ${#modes[@]} * ${#rank_list[@]} ))
echo "scaling.sh: ${mode/both/strong and weak} scaling of --model $model${hidden:+ --hidden $hidden} on ranks ${rank_list[*]}," \
     "$steps steps per run (first $warmup dropped), $threads BLAS thread(s) per rank$( ((threads == 0)) && echo ' (auto)')"
echo "scaling.sh: host $(hostname), $cores cores, load average $load1; output in $out"
sweep_t0=$SECONDS
run_pid="" current="" completed=() again=0
# Ctrl-C, SIGTERM or SIGHUP: the current run is asked ONCE to stop (SIGUSR1 to the
# launcher, which passes it to the ranks: a checkpoint, then exit), given a minute (a
# second signal: no time), then killed with its process group; the script says what it
# kept and exits 128 + signal.
say() { echo "$@" >&2 2>/dev/null || true; }  # after a hangup stderr may be gone
on_signal() {
  local name=$1 code=$2
  set +e  # nothing here may end the script before the run is stopped
  trap 'again=1' INT TERM HUP
  if [[ -n "$run_pid" ]]; then
    # SIGUSR1 to timeout's process group: timeout and the launcher (or a wrapper script
    # around it) pass it on to the ranks, which ignore repeats of it.
    kill -USR1 -- "-$run_pid" 2>/dev/null || kill -USR1 "$run_pid" 2>/dev/null
    say "scaling.sh: $name: asked the current run ($current) to stop after a checkpoint"
    for _ in $(seq 1 600); do
      kill -0 "$run_pid" 2>/dev/null && ((!again)) || break
      sleep 0.1
    done
    if kill -0 "$run_pid" 2>/dev/null; then
      if ((again)); then
        say "scaling.sh: a second signal: killing the run now (mpirun's ranks die with it)"
      else
        say "scaling.sh: it did not stop within 60 s: killing it (mpirun's ranks die with it)"
      fi
      kill -KILL -- "-$run_pid" 2>/dev/null || kill -KILL "$run_pid" 2>/dev/null
    fi
    wait "$run_pid" 2>/dev/null
    if ls "$out/$current/checkpoints/"ckpt-step*.dpckpt >/dev/null 2>&1; then
      say "scaling.sh: partial, not reported: $current (its checkpoint is in $out/$current/checkpoints)"
    else
      say "scaling.sh: partial, not reported: $current (stopped before it wrote a checkpoint)"
    fi
  fi
  if (( ${#completed[@]} )); then
    say "scaling.sh: complete runs: ${completed[*]}; their report: launch/report.py $out"
  else
    say "scaling.sh: no run completed"
  fi
  exit "$code"
}
arm_traps() {
  trap 'on_signal SIGINT 130' INT
  trap 'on_signal SIGTERM 143' TERM
  trap 'on_signal SIGHUP 129' HUP
}
arm_traps
i=0
for m in "${modes[@]}"; do
  for n in "${rank_list[@]}"; do
    i=$((i + 1))
    if [[ $m == strong ]]; then global=$batch; else global=$((per_rank * n)); fi
    local_b=$((global / n))
    run_dir="$out/$m/ranks$n"
    MPIRUN_FLAGS=()
    if [[ $launcher_name == mpirun || $launcher_name == mpiexec ]]; then
      dptrain_mpi_flags "$n"   # --oversubscribe / root consent, only where needed
      (( multi_host )) && MPIRUN_FLAGS=()
    fi
    log_every=$(( steps >= 4 ? steps / 4 : 1 ))
    cmd=("${launcher_words[@]}" -n "$n" "${MPIRUN_FLAGS[@]}" "${auto_bind[@]}" "${mpi_arg_words[@]}" "$dptrain"
         --model "$model" ${hidden:+--hidden "$hidden"} --steps "$steps" --batch-size "$global"
         ${bucket:+--bucket-mb "$bucket"} --threads "$threads" --check-every 0
         --progress lines --log-every "$log_every" --print-topology --run-dir "$run_dir"
         "${extra_words[@]}")
    oversub=""
    (( n > cores && ! multi_host )) && oversub=", oversubscribed: $n ranks on $cores cores"
    printf '[%d/%d] %s scaling, %d rank(s): global batch %d (%d per rank)%s\n' \
           "$i" "$total" "$m" "$n" "$global" "$local_b" "$oversub"
    echo "      + $(dptrain_mpi_env_prefix)${cmd[*]}"
    (( dry_run )) && continue
    rm -rf "$run_dir"
    mkdir -p "$run_dir"
    {
      dptrain_mpi_env_prefix  # as it ran: with the root consent when that was set
      printf '%q ' "${cmd[@]}"
      echo
    } >"$run_dir/cmd.txt"
    t0=$(date +%s.%N)
    rc=0
    # In the background so that Ctrl-C / a job kill reaches this script, not the run
    # (timeout leaves the terminal's process group): the trap stops the run once. At
    # --timeout the run gets SIGUSR1 (a checkpoint, then exit), 60 s later SIGKILL.
    current="$m/ranks$n"
    trap '' INT TERM HUP  # no signal between the start and knowing the pid
    timeout -s USR1 -k 60 "$run_timeout" "${cmd[@]}" >"$run_dir/stdout.log" 2>&1 </dev/null &
    run_pid=$!
    arm_traps
    wait "$run_pid" || rc=$?
    run_pid=""
    # timeout says 124 even when the run finished just as the time ran out: its own
    # "done:" line decides.
    (( rc == 124 )) && grep -q '^done:' "$run_dir/stdout.log" && rc=0
    t1=$(date +%s.%N)
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    if (( rc != 0 )); then
      echo "scaling.sh: error: $m scaling on $n rank(s) failed (exit $rc$( ((rc == 124)) && echo ": stopped by SIGUSR1 after --timeout $run_timeout s")) after $wall s." >&2
      echo "scaling.sh: the command was: $(dptrain_mpi_env_prefix)${cmd[*]}" >&2
      if grep -qiE 'error' "$run_dir/stdout.log"; then
        echo "scaling.sh: errors in $run_dir/stdout.log:" >&2
        grep -iE 'error' "$run_dir/stdout.log" | head -n 5 | sed 's/^/    /' >&2
      fi
      echo "scaling.sh: last lines of $run_dir/stdout.log:" >&2
      tail -n 15 "$run_dir/stdout.log" | sed 's/^/    /' >&2
      (( ${#completed[@]} )) && echo "scaling.sh: complete runs: ${completed[*]} (launch/report.py $out)" >&2
      exit "$rc"
    fi
    for f in metrics.jsonl config.json; do
      [[ -s "$run_dir/$f" ]] || { echo "scaling.sh: error: $m/$n ranks finished but wrote no $run_dir/$f" >&2; exit 1; }
    done
    done_line=$(grep -m1 '^done:' "$run_dir/stdout.log" || true)
    echo "      ok in ${wall} s${done_line:+: ${done_line#done: }}"
    completed+=("$current")
  done
done
(( dry_run )) && exit 0
trap - INT TERM HUP
# The load at the end too: a sweep that ran next to other work shows it here (and in the
# report's noise warnings).
read -r end1 end5 end15 _ </proc/loadavg 2>/dev/null &&
  sed -i "s/^}\$/  ,\"loadavg_at_end\": [$end1, $end5, $end15]\n}/" "$out/sweep.json"
echo "scaling.sh: $total run(s) in $((SECONDS - sweep_t0)) s; writing the report"

# ------------------------------------------------------------------ the report
report_args=("$out")
[[ -n "$prediction" ]] && report_args+=(--model-prediction "$prediction")
py=$(command -v python3 || true)
[[ -n "$py" ]] || py=/usr/bin/python3
[[ -x "$py" ]] || die "python3 not found: needed for launch/report.py (Debian: python3 python3-matplotlib)"
"$py" "$here/report.py" "${report_args[@]}" || {
  echo "scaling.sh: error: launch/report.py failed; the runs are kept in $out (rerun: launch/report.py $out)" >&2
  exit 1
}
echo "scaling.sh: done in $((SECONDS - sweep_t0)) s: $out/scaling.md, scaling.json, throughput.png, efficiency.png"
