/* h5imgrepack.c: convert an SMC-style HDF5 file's encoded image datasets to h5img filter datasets, and back. */
#include "repack.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char USAGE[] =
    "Usage: h5imgrepack [OPTIONS] IN OUT\n"
    "       h5imgrepack [OPTIONS] -i IN -o OUT\n"
    "       h5imgrepack --unpack [OPTIONS] IN OUT\n"
    "\n"
    "Convert the encoded images of an HDF5 file into datasets that decode on read.\n"
    "\n"
    "DESCRIPTION\n"
    "  Every 1-D uint8 dataset of IN whose bytes are a PNG or JPEG file (as in\n"
    "  RenderMe-360 and DNA-Rendering SMC files) becomes, at the same path, a\n"
    "  dataset of the decoded shape, (H, W) or (H, W, C), uint8 (uint16 for 16-bit\n"
    "  PNG), whose single chunk is the original encoded bytes, untouched. The\n"
    "  h5img filter (ID 49301) decodes that chunk on read, so h5py, h5dump and\n"
    "  HDFView see pixels. Nothing is decoded or re-encoded by the conversion,\n"
    "  and the file stays about the same size. Converted datasets keep their\n"
    "  attributes and gain the HDF5 Image attributes (CLASS, IMAGE_VERSION,\n"
    "  IMAGE_SUBCLASS, INTERLACE_MODE) and H5IMG_ORIGINAL, which records what\n"
    "  --unpack needs to rebuild the original dataset.\n"
    "\n"
    "  Everything else is copied as it is: groups and their attributes, other\n"
    "  datasets with their types and filters, soft, external and hard links (an\n"
    "  object reachable by several paths stays one object), and committed (named)\n"
    "  datatypes: datasets and attributes using one keep using it, shared as in\n"
    "  IN. A frame whose datatype is committed stays raw bytes and is listed.\n"
    "\n"
    "  Datasets whose path has a component containing \"mask\" (any case) become\n"
    "  1-channel masks (rule mask: the maximum over the colour channels, as the\n"
    "  reference SMC reader computes it). Others keep their stored channels and\n"
    "  depth (rule native) in RGB order.\n"
    "\n"
    "  A frame whose header cannot be parsed, or (with --verify) that does not\n"
    "  decode, is never lost: it stays a 1-D uint8 dataset with its bytes and is\n"
    "  listed at the end with the reason.\n"
    "\n"
    "  OUT is written to a temporary file beside it (.OUT.tmp-PID), synced and\n"
    "  renamed into place, so OUT is either complete or absent. IN is opened\n"
    "  read-only. A repacked OUT uses the HDF5 1.10 file format (no chunk index\n"
    "  per frame); an unpacked OUT uses the most compatible format, or the 1.8\n"
    "  format when an attribute is too big for it (over about 63 kB).\n"
    "\n"
    "  Frames stored contiguously in IN (the SMC layout) never pass through\n"
    "  h5imgrepack's memory: IN is mapped read-only, only the image headers are\n"
    "  looked at, and a second thread has the kernel copy the bytes from IN into\n"
    "  OUT (splice, else copy_file_range) while HDF5 writes the rest. Other\n"
    "  frames (chunked or compressed in IN) are read through HDF5. -v says how\n"
    "  many frames went each way. If a write into OUT fails (disk full, file\n"
    "  size limit), the run stops with an error naming the cause and OUT is not\n"
    "  created.\n"
    "\n"
    "  H5IMG_ORIGINAL is one line of key=value tokens, for example\n"
    "    format=1 size=80213 order=le layout=contiguous maxdims=80213 alloc=2\n"
    "    fill_time=2 attr_order=0 added=CLASS,IMAGE_VERSION,IMAGE_SUBCLASS\n"
    "  size is the byte count (the chunk itself is the bytes); order, layout,\n"
    "  chunk, maxdims, alloc, fill_time, fill, attr_order and each filter=ID,\n"
    "  FLAGS,CD... describe the original dataset; added names the attributes\n"
    "  repack wrote, which --unpack drops (attributes the file already had are\n"
    "  never overwritten).\n"
    "\n"
    "OPTIONS\n"
    "  -i, --infile=IN       input file (instead of the first operand)\n"
    "  -o, --outfile=OUT     output file (instead of the second operand)\n"
    "  -u, --unpack          restore the legacy layout: every converted dataset\n"
    "                        back to its original 1-D bytes and attributes\n"
    "      --verify          decode every converted frame once; frames that fail\n"
    "                        stay raw and are listed\n"
    "      --strict          exit with status 2 when any frame stayed raw\n"
    "      --bgr             store 3- and 4-channel frames to decode in BGR(A)\n"
    "                        order, as cv2.imdecode returns them\n"
    "  -r, --rule=PATTERN=RULE\n"
    "                        decode datasets whose path (without the leading /)\n"
    "                        matches PATTERN with RULE: native (channels and depth\n"
    "                        as stored), color (3-channel uint8), mask (1 channel,\n"
    "                        max over colour channels), luma (1 channel, grayscale\n"
    "                        conversion), or keep (leave the bytes as they are).\n"
    "                        PATTERN: '*' any run within a component, '**' any\n"
    "                        run, '?' one character, '[...]' a class. Repeatable;\n"
    "                        the last matching --rule wins.\n"
    "      --force           replace OUT if it exists\n"
    "      --no-sync         do not fsync OUT (nor its directory) before\n"
    "                        finishing, like cp and h5repack: faster, but if the\n"
    "                        machine crashes (power loss, kernel panic) soon\n"
    "                        after, OUT may be missing, empty or incomplete even\n"
    "                        though h5imgrepack succeeded. An interrupted run still\n"
    "                        never leaves a partial OUT, and IN is never written.\n"
    "  -v, --verbose         list each dataset as it is handled\n"
    "  -q, --quiet           no progress line and no summary (problems are still\n"
    "                        listed)\n"
    "  -h, --help            show this help and exit\n"
    "  -V, --version         show the version and exit\n"
    "\n"
    "EXIT STATUS\n"
    "  0    success\n"
    "  1    failure (bad usage, unreadable input, write error); OUT is not created\n"
    "  2    with --strict: OUT was written but some frames stayed raw\n"
    "  130  interrupted by SIGINT (Ctrl-C); 143 by SIGTERM: OUT is not created and\n"
    "       the temporary file is removed\n"
    "\n"
    "EXAMPLES\n"
    "  h5imgrepack 0026_e_raw.smc 0026_e.h5img.smc\n"
    "  h5imgrepack --verify --strict -r 'UV_texture/*=color' in.smc out.smc\n"
    "  h5imgrepack --unpack out.smc restored.smc\n"
    "  HDF5_PLUGIN_PATH=/usr/lib/x86_64-linux-gnu/hdf5/serial/plugins \\\n"
    "      python3 -c 'import h5py; print(h5py.File(\"out.smc\")[\"Camera/25/mask/0\"].shape)'\n";

static const struct option LONG_OPTIONS[] = {
    {"infile", required_argument, NULL, 'i'},
    {"outfile", required_argument, NULL, 'o'},
    {"unpack", no_argument, NULL, 'u'},
    {"verify", no_argument, NULL, 1000},
    {"strict", no_argument, NULL, 1001},
    {"bgr", no_argument, NULL, 1002},
    {"force", no_argument, NULL, 1003},
    {"no-sync", no_argument, NULL, 1004},
    {"rule", required_argument, NULL, 'r'},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static int parse_rule_name(const char *name)
{
    static const struct {
        const char *name;
        int rule;
    } names[] = {{"native", H5IMG_RULE_NATIVE}, {"color", H5IMG_RULE_COLOR}, {"colour", H5IMG_RULE_COLOR},
                 {"mask", H5IMG_RULE_MASK},     {"luma", H5IMG_RULE_LUMA},   {"keep", REPACK_RULE_KEEP}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].name) == 0) return names[i].rule;
    return H5IMG_RULE_AUTO;
}

static int add_rule(struct repack_options *opt, const char *text)
{
    const char *eq = strrchr(text, '=');
    int rule = eq ? parse_rule_name(eq + 1) : H5IMG_RULE_AUTO;
    if (!eq || eq == text || rule == H5IMG_RULE_AUTO) {
        tool_error("--rule: expected PATTERN=native|color|mask|luma|keep, got '%s'", text);
        return -1;
    }
    struct repack_rule_map *grown = realloc(opt->rules, (opt->rule_count + 1) * sizeof *grown);
    char *pattern = strndup(text, (size_t)(eq - text));
    if (!grown || !pattern) {
        free(pattern);
        tool_error("out of memory");
        return -1;
    }
    opt->rules = grown;
    opt->rules[opt->rule_count].pattern = pattern;
    opt->rules[opt->rule_count].rule = rule;
    opt->rule_count++;
    return 0;
}

static void free_options(struct repack_options *opt)
{
    for (size_t i = 0; i < opt->rule_count; i++) free((char *)opt->rules[i].pattern);
    free(opt->rules);
}

/* Returns -1 to exit with failure, 1 to exit with success (help, version), 0 to run. */
static int parse_options(int argc, char **argv, struct repack_options *opt)
{
    int c, verbosity = 1;
    opterr = 0; /* getopt's own messages lack the "error:" prefix every other message has */
    while ((c = getopt_long(argc, argv, ":i:o:ur:vqhV", LONG_OPTIONS, NULL)) != -1) {
        switch (c) {
        case 'i': opt->in = optarg; break;
        case 'o': opt->out = optarg; break;
        case 'u': opt->unpack = 1; break;
        case 1000: opt->verify = 1; break;
        case 1001: opt->strict = 1; break;
        case 1002: opt->bgr = 1; break;
        case 1003: opt->force = 1; break;
        case 1004: opt->no_sync = 1; break;
        case 'r':
            if (add_rule(opt, optarg) < 0) return -1;
            break;
        case 'v': verbosity = 2; break;
        case 'q': verbosity = 0; break;
        case 'h': fputs(USAGE, stdout); return 1;
        case 'V':
            printf("h5imgrepack (h5img) %d.%d.%d\n", H5IMG_VERSION_MAJOR, H5IMG_VERSION_MINOR, H5IMG_VERSION_PATCH);
            return 1;
        case ':':
            tool_error("option '%s' needs a value", argv[optind - 1]);
            fprintf(stderr, "Try 'h5imgrepack --help' for more information.\n");
            return -1;
        default:
            tool_error("unknown option '%s'", argv[optind - 1]);
            fprintf(stderr, "Try 'h5imgrepack --help' for more information.\n");
            return -1;
        }
    }
    tool_set_verbosity(verbosity);
    if (!opt->in && optind < argc) opt->in = argv[optind++];
    if (!opt->out && optind < argc) opt->out = argv[optind++];
    if (optind < argc || !opt->in || !opt->out) {
        tool_error(optind < argc ? "too many operands" : "IN and OUT are required");
        fprintf(stderr, "Try 'h5imgrepack --help' for more information.\n");
        return -1;
    }
    if (opt->unpack && (opt->verify || opt->bgr || opt->rule_count))
        tool_warning("--verify, --bgr and --rule have no effect with --unpack");
    return 0;
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Create OUT's temporary file with IN's creation properties (user block,
 * sizes) and its root group's link and attribute ordering. A repacked
 * file uses the 1.10 format:
 * there a single-chunk dataset needs no chunk B-tree, which otherwise costs
 * about 3 kB per frame. An unpacked file goes back to the most compatible
 * format, like the legacy files it restores, unless an attribute is too
 * big for it: that format keeps each attribute in one object header
 * message (64 kB at most), and only the 1.8 format can store larger ones
 * densely, as h5repack also chooses. */
#define OLDEST_FORMAT_ATTRIBUTE_LIMIT (64u * 1024u - 1024u) /* headroom for name, type and space */
/* H5Fget_create_plist does not say how IN's root group orders its links
 * and attributes (the root's own creation properties hold that), and a
 * file created without it loses the creation order of every root link. */
static int copy_root_ordering(hid_t in, hid_t fcpl)
{
    hid_t root = H5Gopen2(in, "/", H5P_DEFAULT);
    hid_t gcpl = root >= 0 ? H5Gget_create_plist(root) : -1;
    unsigned links = 0, attributes = 0;
    int ok = gcpl >= 0 && H5Pget_link_creation_order(gcpl, &links) >= 0 &&
             H5Pget_attr_creation_order(gcpl, &attributes) >= 0 && H5Pset_link_creation_order(fcpl, links) >= 0 &&
             H5Pset_attr_creation_order(fcpl, attributes) >= 0;
    if (gcpl >= 0) H5Pclose(gcpl);
    if (root >= 0) H5Gclose(root);
    return ok ? 0 : -1;
}

static hid_t create_output(struct repack_ctx *ctx)
{
    int unpack = ctx->opt->unpack;
    H5F_libver_t low = H5F_LIBVER_V110;
    if (unpack) low = ctx->largest_attribute > OLDEST_FORMAT_ATTRIBUTE_LIMIT ? H5F_LIBVER_V18 : H5F_LIBVER_EARLIEST;
    if (unpack && low != H5F_LIBVER_EARLIEST)
        tool_verbose("an attribute of %llu bytes needs the HDF5 1.8 file format", (unsigned long long)ctx->largest_attribute);
    hid_t fcpl = H5Fget_create_plist(ctx->in);
    if (fcpl >= 0 && copy_root_ordering(ctx->in, fcpl) < 0) fcpl = (H5Pclose(fcpl), -1);
    hid_t fapl = repack_vfd_fapl(&ctx->source, !ctx->opt->no_sync, &ctx->output);
    hid_t out = -1;
    if (fcpl >= 0 && fapl >= 0 &&
        (low == H5F_LIBVER_EARLIEST || H5Pset_libver_bounds(fapl, low, H5F_LIBVER_LATEST) >= 0))
        out = H5Fcreate(repack_safe_temp_path(), H5F_ACC_EXCL, fcpl, fapl);
    if (fapl >= 0) H5Pclose(fapl);
    if (fcpl >= 0) H5Pclose(fcpl);
    return out;
}

static int run_walk(struct repack_ctx *ctx)
{
    const struct repack_options *opt = ctx->opt;
    if (opt->verify && !opt->unpack && !(ctx->decoder = h5img_decoder_new())) {
        tool_error("out of memory");
        return -1;
    }
    /* Counting costs a pass over the metadata: only worth it for a visible bar. */
    if (tool_verbosity() == 1 && isatty(2)) ctx->stats.frames_total = repack_count_candidates(ctx->in, opt->unpack);
    tool_progress_start("frames", ctx->stats.frames_total);
    int rc = repack_walk(ctx);
    tool_progress_finish();
    h5img_decoder_free(ctx->decoder);
    ctx->decoder = NULL;
    return rc;
}

/* HDF5 reserves OUT's user block (its size comes with IN's creation
 * properties) but leaves it zeroed: the bytes are the application's, so
 * they are copied from IN once OUT is closed. */
static int copy_user_block(struct repack_ctx *ctx)
{
    hid_t fcpl = H5Fget_create_plist(ctx->in);
    hsize_t size = 0;
    int got = fcpl >= 0 && H5Pget_userblock(fcpl, &size) >= 0;
    if (fcpl >= 0) H5Pclose(fcpl);
    if (!got) {
        tool_error("cannot read the user block size of '%s'", ctx->opt->in);
        return -1;
    }
    if (size == 0) return 0;
    const char *temp = repack_safe_temp_path();
    errno = 0;
    int in = open(ctx->opt->in, O_RDONLY | O_CLOEXEC);
    int out = open(temp, O_WRONLY | O_CLOEXEC);
    int rc = in >= 0 && out >= 0 ? 0 : -1;
    unsigned char buffer[65536];
    for (hsize_t done = 0; rc == 0 && done < size;) {
        size_t want = size - done < sizeof buffer ? (size_t)(size - done) : sizeof buffer;
        ssize_t got_bytes = pread(in, buffer, want, (off_t)done);
        if (got_bytes <= 0 || pwrite(out, buffer, (size_t)got_bytes, (off_t)done) != got_bytes) rc = -1;
        else done += (hsize_t)got_bytes;
    }
    if (rc < 0) tool_error("cannot copy the %llu-byte user block of '%s': %s", (unsigned long long)size, ctx->opt->in,
                           errno ? strerror(errno) : "the file ends inside it");
    if (in >= 0) close(in);
    if (out >= 0 && close(out) != 0 && rc == 0) {
        tool_error("cannot write '%s': %s", temp, strerror(errno));
        rc = -1;
    }
    return rc;
}

/* Open, walk, close. Returns 0 when the temporary file is complete. */
static int repack_files(struct repack_ctx *ctx)
{
    ctx->in = H5Fopen(ctx->opt->in, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (ctx->in < 0) {
        tool_error("cannot open '%s' as an HDF5 file", ctx->opt->in);
        return -1;
    }
    char where[1200];
    if (repack_find_references(ctx->in, where, sizeof where, &ctx->largest_attribute) > 0) {
        tool_error("'%s' holds HDF5 references (%s), which h5imgrepack cannot carry over: their targets move in "
                   "the new file; '%s' was not written",
                   ctx->opt->in, where, ctx->opt->out);
        H5Fclose(ctx->in);
        return -1;
    }
    if (repack_source_open(&ctx->source, ctx->opt->in, ctx->in) < 0)
        tool_verbose("'%s' cannot be mapped: frames are read through HDF5", ctx->opt->in);
    ctx->out = create_output(ctx);
    int rc = -1;
    if (ctx->out < 0)
        tool_error("cannot create '%s'", repack_safe_temp_path());
    else
        rc = run_walk(ctx);
    if (ctx->out >= 0) {
        ctx->output.closing = 1;
        if (rc == 0 && H5Fflush(ctx->out, H5F_SCOPE_GLOBAL) < 0) {
            if (!repack_output_failed(ctx)) tool_error("cannot flush '%s'", repack_safe_temp_path());
            rc = -1;
        }
        if (H5Fclose(ctx->out) < 0 && rc == 0) {
            if (!repack_output_failed(ctx)) tool_error("cannot close '%s'", repack_safe_temp_path());
            rc = -1;
        }
    }
    if (repack_output_failed(ctx)) rc = -1; /* a copy that failed after HDF5's last call */
    if (rc == 0 && ctx->out >= 0) rc = copy_user_block(ctx);
    /* A copier still running (OUT kept open by an object HDF5 still holds)
     * may read IN's mapping: it is then left to the process exit. */
    if (ctx->output.open_files == 0) repack_source_close(&ctx->source);
    H5Fclose(ctx->in);
    return rc;
}

static int run(const struct repack_options *opt)
{
    if (h5img_register() < 0) {
        tool_error("cannot register the h5img filter with HDF5");
        return TOOL_EXIT_FAILURE;
    }
    if (repack_safe_begin(opt) < 0) return TOOL_EXIT_FAILURE;
    struct repack_ctx ctx = {0};
    ctx.opt = opt;
    ctx.source.fd = -1;
    double started = tool_now();
    int rc = repack_files(&ctx);
    if (rc == 0) rc = repack_safe_commit(opt->out, !opt->no_sync);
    if (rc < 0) repack_safe_abort();
    if (rc == 0) repack_report(&ctx, tool_now() - started, file_size(opt->in), file_size(opt->out));
    int status = rc < 0 ? TOOL_EXIT_FAILURE : opt->strict && ctx.stats.kept_raw ? TOOL_EXIT_PARTIAL : TOOL_EXIT_OK;
    repack_stats_free(&ctx.stats);
    for (size_t i = 0; i < ctx.seen_count; i++) free(ctx.seen[i].out_path);
    free(ctx.seen);
    return status;
}

int main(int argc, char **argv)
{
    tool_init("h5imgrepack");
    struct repack_options opt = {0};
    int parsed = parse_options(argc, argv, &opt);
    int status = parsed < 0 ? TOOL_EXIT_FAILURE : TOOL_EXIT_OK;
    if (parsed == 0) {
        /* HDF5's own error stack would bury the one-line messages; the tool
         * reports every failure itself. */
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        status = run(&opt);
    }
    free_options(&opt);
    return status;
}
