/* h5imgbatch.c: run h5imgrepack or h5imgdump over a manifest of files, resumably, in one process or over MPI ranks (command line and set-up). */
#include "batch.h"
#include "h5img.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
    "Usage: h5imgbatch repack|extract|preview --manifest LIST --out DIR [-q] [-v] [TOOL OPTIONS...]\n"
    "Try 'h5imgbatch --help' for more information.\n";

static const char help_text[] =
    "NAME\n"
    "    h5imgbatch - run h5imgrepack or h5imgdump over many files, resumably, on one or many nodes\n"
    "\n"
    "SYNOPSIS\n"
    "    h5imgbatch repack  --manifest LIST --out DIR [-q] [-v] [h5imgrepack options]\n"
    "    h5imgbatch extract --manifest LIST --out DIR [-q] [-v] [h5imgdump --extract options]\n"
    "    h5imgbatch preview --manifest LIST --out DIR [-q] [-v] [h5imgdump --preview options]\n"
    "    mpirun -n N h5imgbatch ...      srun h5imgbatch ...\n"
    "    h5imgbatch --help | --version\n"
    "\n"
    "DESCRIPTION\n"
    "    LIST holds one input path per line; blank lines and lines starting with '#'\n"
    "    are ignored, blanks around a path are dropped, and relative paths are taken\n"
    "    from the current directory. Each input gets one output under DIR, named\n"
    "    after it:\n"
    "        repack   DIR/<basename>            h5imgrepack [OPTIONS] -- IN OUT\n"
    "        extract  DIR/<basename - ext>/     h5imgdump --extract OUTDIR [OPTIONS] -- IN\n"
    "        preview  DIR/<basename - ext>.png  h5imgdump --preview OUT.png [OPTIONS] -- IN\n"
    "    (\"ext\" is the last extension: a/0026_raw.smc gives 0026_raw). Two inputs\n"
    "    that would give the same output name are refused before anything runs,\n"
    "    each pair named.\n"
    "\n"
    "    Every file runs the sibling tool (h5imgrepack or h5imgdump from the\n"
    "    directory h5imgbatch lies in; the environment variables H5IMGREPACK and\n"
    "    H5IMGDUMP override them) in a child process, so a crash on one corrupt\n"
    "    input fails that input only. The tool writes under a temporary name in DIR\n"
    "    (DIR/.h5imgbatch-tmp.HOST.PID.N/), and the output is renamed into place\n"
    "    only when the tool succeeded: a file in DIR is always complete. A file\n"
    "    whose tool exits with any status but 0 (including 2, some frames failed)\n"
    "    is reported failed and leaves no output.\n"
    "\n"
    "    Run plainly, h5imgbatch is one process doing every file in turn. Run under\n"
    "    mpirun or srun (built with MPI), every rank works: rank 0 hands out the\n"
    "    files, largest first, one at a time as ranks ask for them, and runs files\n"
    "    itself between answering (its tool works in a child process while rank 0\n"
    "    polls both). Inputs are read and DIR written through the paths as given, so\n"
    "    all ranks must see the same file system.\n"
    "\n"
    "RESUMING\n"
    "    A finished file leaves a completion record in DIR/.h5imgbatch/<output>.done\n"
    "    (input path, its size and modification time, the command and options, the\n"
    "    output's byte count, file count and CRC-32: of the file, or of every file\n"
    "    under the output directory in sorted order with its relative path and\n"
    "    size). Run the same command again after an interruption: a file is skipped\n"
    "    when its record is there, the input's size and mtime are unchanged, the\n"
    "    options are the same and the output is there with the same checksum (so\n"
    "    every output is read once more); any other file is done again. Temporaries\n"
    "    of a killed run are removed at the start of the next one. One run at a time\n"
    "    may use DIR (DIR/.h5imgbatch/lock).\n"
    "\n"
    "OPTIONS\n"
    "    -m LIST, --manifest=LIST   the list of inputs (required)\n"
    "    -o DIR, --out=DIR          where outputs go, created if missing (required)\n"
    "    -q, --quiet                no progress line (failures and the summary are\n"
    "                               still printed)\n"
    "    -v, --verbose              one line per file\n"
    "    -h, --help                 print this help and exit\n"
    "    -V, --version              print the version and exit\n"
    "    h5imgbatch's options come first and are spelt out in full; the first\n"
    "    argument that is not one of them, or everything after '--', goes to the\n"
    "    tool for every file: for example '--format npy --dilate 15 -j 1' for\n"
    "    extract, '--frame 3 --tile-width 200' for preview, '--verify --no-sync' for\n"
    "    repack. Options that name the tool's input or output (-i, -o, --extract,\n"
    "    --preview), --help, --version and operands are refused there.\n"
    "\n"
    "    On a terminal rank 0 shows \"[ 37/120] 2 failed\" on standard error.\n"
    "\n"
    "REPORT\n"
    "    DIR/.h5imgbatch/report.json, written by rank 0 at the end (its path is\n"
    "    printed), is one object: command, tool_args, manifest, out, ranks, seconds,\n"
    "    files, done, skipped, failed and results, one entry per input in manifest\n"
    "    order: {\"input\", \"output\", \"status\": \"done\"|\"skipped\"|\"failed\",\n"
    "    \"bytes_in\", \"bytes_out\", \"seconds\", \"rank\", \"tool_status\" (the tool's\n"
    "    exit status, 128+N for signal N, -1 when it did not run), \"error\" (the\n"
    "    tool's standard error for a failure, else null)}. Standard error ends with\n"
    "    \"h5imgbatch: 10 files: 8 done, 1 skipped, 1 failed in 12.3 s\".\n"
    "\n"
    "EXIT STATUS\n"
    "    0   every file done or skipped\n"
    "    1   nothing was run: bad options, unreadable manifest, output name\n"
    "        collisions, unusable DIR, a tool not found, the report not written\n"
    "    2   some files failed (the others were done); see the report\n"
    "\n"
    "EXAMPLES\n"
    "    h5imgbatch repack --manifest raw.txt --out /scratch/h5img\n"
    "    h5imgbatch extract --manifest anno.txt --out masks --format coco-rle --dilate 15\n"
    "    mpirun -n 8 h5imgbatch preview --manifest all.txt --out sheets --frame 3\n"
    "    srun h5imgbatch extract --manifest raw.txt --out frames --format npy -j 1\n";

/* What the tool does with its arguments, enough to refuse the ones
 * h5imgbatch owns and to know which options swallow the next argument. */
struct tool_spec {
    const char *short_with_value, *short_forbidden;
    const char *const *long_with_value, *const *long_forbidden, *const *long_plain;
};
static const char *const repack_long_value[] = {"infile", "outfile", "rule", NULL};
static const char *const repack_long_forbidden[] = {"infile", "outfile", "help", "version", NULL};
static const char *const repack_long_plain[] = {"unpack", "verify", "strict", "bgr", "force", "no-sync", "verbose", "quiet", NULL};
static const char *const dump_long_value[] = {"extract", "format", "select", "jobs", "dilate", "threshold",
                                              "preview", "frame", "tile-width", "overlay", NULL};
static const char *const dump_long_forbidden[] = {"extract", "preview", "help", "version", NULL};
static const char *const dump_long_plain[] = {"json", "bgr", "verbose", "quiet", NULL};
static const struct tool_spec repack_spec = {"ior", "ioVh", repack_long_value, repack_long_forbidden, repack_long_plain};
static const struct tool_spec dump_spec = {"xfsjp", "xpVh", dump_long_value, dump_long_forbidden, dump_long_plain};

static int in_list(const char *const *list, const char *name, size_t len, int exact)
{
    for (; *list; list++)
        if (strncmp(*list, name, len) == 0 && (!exact || (*list)[len] == '\0')) return 1;
    return 0;
}

/* getopt_long takes unambiguous prefixes, so "--ext" is --extract to the tool. */
static int check_tool_args(const batch_job_set *set)
{
    const struct tool_spec *spec = set->kind == BATCH_REPACK ? &repack_spec : &dump_spec;
    for (size_t i = 0; i < set->ntool_args; i++) {
        const char *a = set->tool_args[i];
        if (strchr(a, '\n')) return tool_error("tool option '%s' holds a newline", a), -1;
        if (strcmp(a, "--") == 0 || a[0] != '-' || a[1] == '\0') {
            tool_error("unexpected operand '%s' among the tool's options: inputs come from --manifest, outputs go "
                       "under --out",
                       a);
            return -1;
        }
        if (a[1] == '-') {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            int exact_allowed = in_list(spec->long_plain, name, len, 1) ||
                                (in_list(spec->long_with_value, name, len, 1) && !in_list(spec->long_forbidden, name, len, 1));
            if (!exact_allowed && in_list(spec->long_forbidden, name, len, 0)) {
                tool_error("'%s' is h5imgbatch's to set (it names the tool's input or output, or stops it): leave it out", a);
                return -1;
            }
            if (!eq && in_list(spec->long_with_value, name, len, exact_allowed)) i++;
            continue;
        }
        for (const char *c = a + 1; *c; c++) {
            if (strchr(spec->short_forbidden, *c)) {
                tool_error("'-%c' (in '%s') is h5imgbatch's to set (it names the tool's input or output, or stops it): "
                           "leave it out",
                           *c, a);
                return -1;
            }
            if (strchr(spec->short_with_value, *c)) {
                if (c[1] == '\0') i++;
                break;
            }
        }
    }
    return 0;
}

static char *find_tool(const char *name, const char *env)
{
    const char *override = getenv(env);
    if (override && *override) return strdup(override);
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return strdup(name);
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) *slash = '\0';
    return batch_join(self, name);
}

/* Returns -1 to go on, else the exit status. */
static int parse_command_line(batch_job_set *set, int argc, char **argv)
{
    if (argc < 2) {
        tool_error("no subcommand given (repack, extract or preview)");
        fputs(usage_text, stderr);
        return TOOL_EXIT_FAILURE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) return fputs(help_text, stdout), TOOL_EXIT_OK;
    if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0)
        return printf("h5imgbatch (h5img) %d.%d.%d\n", H5IMG_VERSION_MAJOR, H5IMG_VERSION_MINOR, H5IMG_VERSION_PATCH),
               TOOL_EXIT_OK;
    if (strcmp(cmd, "repack") == 0) set->kind = BATCH_REPACK;
    else if (strcmp(cmd, "extract") == 0) set->kind = BATCH_EXTRACT;
    else if (strcmp(cmd, "preview") == 0) set->kind = BATCH_PREVIEW;
    else {
        tool_error("unknown subcommand '%s' (expected repack, extract or preview)", cmd);
        fputs(usage_text, stderr);
        return TOOL_EXIT_FAILURE;
    }
    int i = 2;
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char **target = NULL;
        const char *value = NULL;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "-m") == 0 || strcmp(a, "--manifest") == 0) target = &set->manifest;
        else if (strncmp(a, "--manifest=", 11) == 0) target = &set->manifest, value = a + 11;
        else if (strcmp(a, "-o") == 0 || strcmp(a, "--out") == 0) target = &set->out_dir;
        else if (strncmp(a, "--out=", 6) == 0) target = &set->out_dir, value = a + 6;
        else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) { set->quiet = 1; continue; }
        else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) { set->verbose = 1; continue; }
        else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) return fputs(help_text, stdout), TOOL_EXIT_OK;
        else break; /* the tool's options start here */
        if (!value) {
            if (i + 1 >= argc) {
                tool_error("option '%s' needs a value", a);
                fputs(usage_text, stderr);
                return TOOL_EXIT_FAILURE;
            }
            value = argv[++i];
        }
        *target = value;
    }
    set->tool_args = argv + i;
    set->ntool_args = (size_t)(argc - i);
    if (!set->manifest || !set->out_dir || !set->manifest[0] || !set->out_dir[0]) {
        tool_error(!set->manifest || !set->manifest[0] ? "--manifest LIST is required" : "--out DIR is required");
        fputs(usage_text, stderr);
        return TOOL_EXIT_FAILURE;
    }
    if (check_tool_args(set)) return TOOL_EXIT_FAILURE;
    if (set->verbose) tool_set_verbosity(2);

    size_t key_len = strlen(cmd) + 1;
    for (size_t k = 0; k < set->ntool_args; k++) key_len += strlen(set->tool_args[k]) + 1;
    set->args_key = malloc(key_len);
    if (!set->args_key) return tool_error("out of memory"), TOOL_EXIT_FAILURE;
    strcpy(set->args_key, cmd);
    for (size_t k = 0; k < set->ntool_args; k++) strcat(strcat(set->args_key, " "), set->tool_args[k]);

    const char *name = set->kind == BATCH_REPACK ? "h5imgrepack" : "h5imgdump";
    char *tool = find_tool(name, set->kind == BATCH_REPACK ? "H5IMGREPACK" : "H5IMGDUMP");
    if (!tool) return tool_error("out of memory"), TOOL_EXIT_FAILURE;
    if (access(tool, X_OK) != 0) {
        tool_error("cannot run %s: '%s': %s (set %s to its path)", name, tool, strerror(errno),
                   set->kind == BATCH_REPACK ? "H5IMGREPACK" : "H5IMGDUMP");
        free(tool);
        return TOOL_EXIT_FAILURE;
    }
    set->tool_path = tool;
    return -1;
}

int batch_setup(batch_job_set *set, const char *text, size_t length, int root)
{
    if (batch_manifest_parse(set, text, length) != 0) return -1;
    if (!root) return 0;
    if (batch_manifest_check_names(set) != 0 || batch_manifest_order(set) != 0) return -1;
    return batch_prepare_dir(set);
}

/* Started as one of several processes (srun -n N, mpirun) but without MPI
 * to share the work: each process would do every file. */
static int several_processes_without_mpi(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_STEP_NUM_TASKS", NULL};
    for (const char *const *v = vars; *v; v++) {
        const char *s = getenv(*v);
        if (s && atol(s) > 1) return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    tool_init("h5imgbatch");
    batch_job_set set;
    memset(&set, 0, sizeof set);
    int status = parse_command_line(&set, argc, argv);
    if (status >= 0) return status;
#ifdef H5IMG_BATCH_MPI
    if (batch_mpi_wanted()) {
        status = batch_mpi_main(&set);
        batch_manifest_free(&set);
        free(set.args_key);
        free((char *)set.tool_path);
        return status;
    }
#endif
    if (several_processes_without_mpi()) {
        tool_error("started as one of several processes, but this h5imgbatch %s, so each would do every file: "
                   "run one process",
#ifdef H5IMG_BATCH_MPI
                   "sees no MPI process manager (for srun, try --mpi=pmix)"
#else
                   "was built without MPI (install libopenmpi-dev and rebuild)"
#endif
        );
        return TOOL_EXIT_FAILURE;
    }
    double started = tool_now();
    size_t length = 0;
    char *text = batch_manifest_read(set.manifest, &length);
    int lock = text ? batch_setup(&set, text, length, 1) : -1;
    free(text);
    status = TOOL_EXIT_FAILURE;
    if (lock >= 0) {
        batch_result *results = calloc(set.nentries, sizeof *results);
        if (!results) {
            tool_error("out of memory");
        } else {
            batch_run_all(&set, results);
            status = batch_report(&set, results, tool_now() - started, 1);
            for (size_t i = 0; i < set.nentries; i++) free(results[i].error);
            free(results);
        }
        close(lock);
    }
    batch_manifest_free(&set);
    free(set.args_key);
    free((char *)set.tool_path);
    return status;
}
