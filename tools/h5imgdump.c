/* h5imgdump.c: summarise the images of an HDF5/SMC file, extract every frame to files, or draw a contact sheet (command line and dispatch). */
#include "dump.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage_text[] =
    "Usage: h5imgdump [OPTIONS] FILE\n"
    "       h5imgdump --extract DIR [--format FMT] [--select PATTERN]... [-j N] FILE\n"
    "       h5imgdump --preview OUT.png [--frame N] [--tile-width W] [--overlay mask|none] FILE\n"
    "Try 'h5imgdump --help' for more information.\n";

static const char help_text[] =
    "NAME\n"
    "    h5imgdump - summarise or extract the images stored in an HDF5 file\n"
    "\n"
    "SYNOPSIS\n"
    "    h5imgdump [--json] [-v] FILE\n"
    "    h5imgdump --extract DIR [--format keep|png|pgm-ppm|npy|coco-rle] [--select PATTERN]...\n"
    "              [--dilate N] [--threshold T] [-j N] [-v] FILE\n"
    "    h5imgdump --preview OUT.png [--frame N] [--tile-width W] [--overlay mask|none]\n"
    "              [--json] [-j N] FILE\n"
    "    h5imgdump --help | --version\n"
    "\n"
    "DESCRIPTION\n"
    "    Reads image datasets in either layout: legacy SMC files, where each frame is\n"
    "    a 1-D uint8 dataset holding PNG or JPEG bytes, and files converted by\n"
    "    h5imgrepack, where each frame is an (H,W[,C]) dataset of the h5img filter\n"
    "    (49301) whose single chunk holds the same bytes. The h5img plugin is not\n"
    "    needed: stored bytes are read directly.\n"
    "\n"
    "    Without --extract, prints a one-screen summary: the root attributes, each\n"
    "    group of image datasets with its frame count, codec, size in pixels\n"
    "    (width x height x channels) and stored bytes, and the other datasets with\n"
    "    type and shape (numeric path components shown as '*', so per-camera or\n"
    "    per-frame datasets take one line). Only headers are read, never pixels.\n"
    "\n"
    "    With --extract, writes one file per frame under DIR, at the frame's HDF5\n"
    "    path, the last component zero-padded to 6 digits when it is a number:\n"
    "    Camera/25/mask/7 becomes DIR/Camera/25/mask/000007.png. Each file is\n"
    "    written under a temporary name in its directory and renamed into place,\n"
    "    so a file in DIR is always complete; existing files are replaced. Frames\n"
    "    are decoded in parallel and written in any order; failures are reported\n"
    "    in frame order on standard error and the other frames carry on.\n"
    "\n"
    "OPTIONS\n"
    "    --json\n"
    "        Print the summary as JSON (one object: file, file_size, attributes,\n"
    "        image_groups, datasets) for scripts. Bytes of names and strings that\n"
    "        are not valid UTF-8 are written as \\u00XX, one per byte, so the\n"
    "        output is always valid JSON.\n"
    "    -x DIR, --extract=DIR\n"
    "        Extract frames under DIR (created if missing).\n"
    "    -f FMT, --format=FMT\n"
    "        keep     the stored bytes unchanged, .jpg or .png by their signature;\n"
    "                 nothing is decoded, so a damaged frame is copied as it is\n"
    "                 (default). Bytes with neither signature fail the frame.\n"
    "        png      decoded pixels re-encoded as lossless PNG (level 1), RGB(A).\n"
    "        pgm-ppm  binary netpbm: .pgm for 1 channel, .ppm (RGB) for 3;\n"
    "                 16-bit samples big-endian with maxval 65535. 4-channel\n"
    "                 frames are refused (the alpha would be lost): use png or npy.\n"
    "        npy      NumPy .npy (format 1.0), dtype |u1 or <u2, shape (H, W) or\n"
    "                 (H, W, C): exactly the array a reader gets.\n"
    "        coco-rle mask frames only (the others are left out): one .json per\n"
    "                 frame holding {\"size\": [H, W], \"counts\": \"...\"}, the COCO\n"
    "                 run-length encoding of the foreground value >= T (see\n"
    "                 --threshold), byte for byte the counts string of\n"
    "                 pycocotools.mask.encode(np.asfortranarray(fg)).\n"
    "        Decoding uses the filter's output rules. Repacked frames decode as their\n"
    "        dataset says (h5py's f[path][()]). Legacy frames decode as the reference\n"
    "        SMC reader does: a path with a component containing 'mask' (any case)\n"
    "        gives the mask (H, W) = max over the channels of the colour decode;\n"
    "        other frames keep their channels and depth (IMREAD_UNCHANGED), in RGB\n"
    "        order like a default h5imgrepack; see --bgr.\n"
    "    --dilate N\n"
    "        Dilate every mask frame (the mask rule's output) with an N x N square\n"
    "        of ones before writing it, N from 1 (none) to 1023: bit-identical to\n"
    "        cv2.dilate(mask, np.ones((N, N), np.uint8)), anchor at the kernel\n"
    "        centre, so for even N the window reaches N/2 pixels left and up and\n"
    "        N/2 - 1 right and down. Other frames are written as they are. Needs\n"
    "        a decoding format (png, pgm-ppm, npy or coco-rle); with coco-rle the\n"
    "        dilation comes first.\n"
    "    --threshold T\n"
    "        With --format coco-rle: foreground is value >= T, T from 0 to 255\n"
    "        (default 128).\n"
    "    --bgr\n"
    "        Legacy colour frames in BGR(A) order in npy files, as cv2.imdecode\n"
    "        returns them and h5imgrepack --bgr stores them. png and pgm-ppm are\n"
    "        RGB whatever the order.\n"
    "    -s PATTERN, --select=PATTERN\n"
    "        Extract only datasets whose path (no leading '/') matches the glob\n"
    "        PATTERN; repeat to add more. A dataset with several hard links is\n"
    "        selected by any of its paths and written once, under the first that\n"
    "        matches. '*' matches within one component, '**'\n"
    "        across components, '?' one character, '[...]' a character class.\n"
    "        Cameras: 'Camera/2[0-5]/**'. Frame ranges use the frame number's\n"
    "        digits: 'Camera/25/color/?' and 'Camera/25/color/?\?' select frames\n"
    "        0-99, 'Camera/25/color/1[0-4]?' frames 100-149.\n"
    "    -p OUT.png, --preview=OUT.png\n"
    "        Draw a contact sheet: one PNG with a tile per camera, in camera order.\n"
    "        A camera is a group holding a 'color' group of frames (Camera/25 of\n"
    "        RenderMe-360, Camera_5mp/01 of DNA-Rendering), in either layout; its\n"
    "        tile shows frame N of it (see --frame), scaled to the tile width with\n"
    "        the aspect ratio kept, with the camera's name written under it and its\n"
    "        mask (CAMERA/mask/N, else Mask/<camera id>/mask/N) blended over it as\n"
    "        a tint. JPEG frames are decoded at reduced size (libjpeg's DCT\n"
    "        scaling by 1/2, 1/4 or 1/8, the smallest that still covers the tile),\n"
    "        then area-averaged to the tile. A camera whose frame is missing or\n"
    "        does not decode gets a dark tile and is reported (exit status 2).\n"
    "        With --json, prints {\"preview\": OUT, \"width\": W, \"height\": H,\n"
    "        \"tiles\": [{\"camera\", \"path\", \"mask\", \"x\", \"y\", \"w\", \"h\"}...]}:\n"
    "        for each tile the dataset path of the frame shown (and of its mask,\n"
    "        or null) and where that image lies in the sheet, in pixels.\n"
    "    --frame N\n"
    "        The frame of each camera the preview shows (default 0).\n"
    "    --tile-width W\n"
    "        Width of each preview tile in pixels, 16 to 4096 (default 320).\n"
    "    --overlay mask|none\n"
    "        Tint each preview tile with its camera's mask (default), or not.\n"
    "    -j N, --jobs=N\n"
    "        Decode and write with N worker threads (default: all online\n"
    "        processors). HDF5 reads stay on one thread; at most 2N frames are\n"
    "        held in memory at a time.\n"
    "    -v, --verbose\n"
    "        Report each file written and the totals.\n"
    "    -q, --quiet\n"
    "        No progress bar and no warnings; errors are still printed.\n"
    "    -h, --help\n"
    "        Print this help and exit.\n"
    "    -V, --version\n"
    "        Print the version and exit.\n"
    "\n"
    "    A progress bar is shown on standard error when it is a terminal.\n"
    "\n"
    "EXIT STATUS\n"
    "    0   success\n"
    "    1   fatal error (bad usage, unreadable file, nothing matched --select,\n"
    "        interrupted)\n"
    "    2   finished, but some frames (or preview tiles) failed, each reported\n"
    "        with its reason\n"
    "\n"
    "EXAMPLES\n"
    "    h5imgdump 0026_s1_all_raw.smc\n"
    "    h5imgdump --json 0026_s1_all_raw.smc | jq '.image_groups[].frames'\n"
    "    h5imgdump --extract out 0026_s1_all_raw.smc\n"
    "    h5imgdump --extract out --format npy --select 'Camera/25/mask/*' -j 4 anno.smc\n"
    "    h5imgdump -x out -f png -s 'Camera/0[0-4]/color/?\?' 0026_s1_all_raw.smc\n"
    "    h5imgdump -x anno --format coco-rle --dilate 15 -s 'Camera/*/mask/*' anno.smc\n"
    "    h5imgdump --preview sheet.png --frame 10 --json 0026_s1_all_raw.smc\n";

enum { OPT_JSON = 256, OPT_BGR, OPT_DILATE, OPT_THRESHOLD, OPT_FRAME, OPT_TILE_WIDTH, OPT_OVERLAY };

static const struct option long_options[] = {
    {"json", no_argument, NULL, OPT_JSON},       {"bgr", no_argument, NULL, OPT_BGR},       {"extract", required_argument, NULL, 'x'},
    {"format", required_argument, NULL, 'f'},    {"select", required_argument, NULL, 's'},
    {"jobs", required_argument, NULL, 'j'},      {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},           {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},         {"dilate", required_argument, NULL, OPT_DILATE},
    {"threshold", required_argument, NULL, OPT_THRESHOLD},                   {"preview", required_argument, NULL, 'p'},
    {"frame", required_argument, NULL, OPT_FRAME}, {"tile-width", required_argument, NULL, OPT_TILE_WIDTH},
    {"overlay", required_argument, NULL, OPT_OVERLAY},                       {NULL, 0, NULL, 0},
};

struct command {
    dump_options options;
    dump_mask_options masks;
    dump_preview_options preview;
    const char **select;
    size_t nselect;
    int format_given, jobs_given, bgr_given, dilate_given, threshold_given, preview_settings_given;
};

static int parse_format(const char *text, dump_format *format)
{
    static const struct {
        const char *name;
        dump_format format;
    } names[] = {{"keep", DUMP_KEEP}, {"png", DUMP_PNG}, {"pgm-ppm", DUMP_PNM}, {"pnm", DUMP_PNM}, {"npy", DUMP_NPY}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(text, names[i].name) == 0) return *format = names[i].format, 0;
    tool_error("unknown --format '%s' (expected keep, png, pgm-ppm, npy or coco-rle)", text);
    return -1;
}

static int add_select(struct command *c, const char *pattern)
{
    const char **grown = realloc(c->select, (c->nselect + 2) * sizeof *grown);
    if (!grown) return tool_error("out of memory"), -1;
    c->select = grown;
    while (*pattern == '/') pattern++;
    c->select[c->nselect++] = pattern;
    c->select[c->nselect] = NULL;
    return 0;
}

static unsigned default_jobs(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1u;
}

/* Returns -1 to go on, else the exit status. */
static int parse_option(struct command *c, int opt)
{
    unsigned long value;
    switch (opt) {
    case OPT_JSON: c->options.json = 1; return -1;
    case OPT_BGR: c->bgr_given = 1, c->options.bgr = 1; return -1;
    case 'x': c->options.extract_dir = optarg; return -1;
    case 'f':
        c->format_given = 1;
        /* coco-rle decodes like npy and writes its own files instead. */
        c->masks.coco_rle = strcmp(optarg, "coco-rle") == 0;
        if (c->masks.coco_rle) return c->options.format = DUMP_NPY, -1;
        return parse_format(optarg, &c->options.format) ? TOOL_EXIT_FAILURE : -1;
    case OPT_DILATE:
        c->dilate_given = 1;
        if (tool_parse_uint("--dilate", optarg, 1, H5IMG_MAX_DILATE, &value)) return TOOL_EXIT_FAILURE;
        c->masks.dilate = (unsigned)value;
        return -1;
    case OPT_THRESHOLD:
        c->threshold_given = 1;
        if (tool_parse_uint("--threshold", optarg, 0, 255, &value)) return TOOL_EXIT_FAILURE;
        c->masks.threshold = (unsigned)value;
        return -1;
    case 'p': c->preview.out = optarg; return -1;
    case OPT_FRAME:
        c->preview_settings_given = 1;
        if (tool_parse_uint("--frame", optarg, 0, UINT32_MAX, &value)) return TOOL_EXIT_FAILURE;
        c->preview.frame = (unsigned)value;
        return -1;
    case OPT_TILE_WIDTH:
        c->preview_settings_given = 1;
        if (tool_parse_uint("--tile-width", optarg, 16, 4096, &value)) return TOOL_EXIT_FAILURE;
        c->preview.tile_width = (unsigned)value;
        return -1;
    case OPT_OVERLAY:
        c->preview_settings_given = 1;
        if (strcmp(optarg, "mask") == 0 || strcmp(optarg, "none") == 0) return c->preview.overlay = optarg[0] == 'm', -1;
        tool_error("unknown --overlay '%s' (expected mask or none)", optarg);
        return TOOL_EXIT_FAILURE;
    case 's': return add_select(c, optarg) ? TOOL_EXIT_FAILURE : -1;
    case 'j':
        c->jobs_given = 1;
        if (tool_parse_uint("--jobs", optarg, 1, 1024, &value)) return TOOL_EXIT_FAILURE;
        c->options.jobs = (unsigned)value;
        return -1;
    case 'v': tool_set_verbosity(2); return -1;
    case 'q': tool_set_verbosity(0), tool_silence_warnings(1); return -1;
    case 'h': fputs(help_text, stdout); return TOOL_EXIT_OK;
    case 'V': printf("h5imgdump (h5img) %d.%d.%d\n", H5IMG_VERSION_MAJOR, H5IMG_VERSION_MINOR, H5IMG_VERSION_PATCH);
        return TOOL_EXIT_OK;
    default: fputs(usage_text, stderr); return TOOL_EXIT_FAILURE;
    }
}

static int check_combination(struct command *c)
{
    if (c->preview.out) {
        if (c->options.extract_dir) return tool_error("--preview and --extract are separate runs: give one"), -1;
        if (!c->preview.out[0]) return tool_error("--preview needs an output file name"), -1;
        if (c->format_given || c->nselect || c->bgr_given || c->dilate_given || c->threshold_given)
            return tool_error("--format, --select, --bgr, --dilate and --threshold do not apply to --preview"), -1;
        return 0;
    }
    if (c->preview_settings_given) return tool_error("--frame, --tile-width and --overlay apply only with --preview"), -1;
    if (c->options.extract_dir) {
        if (c->options.json) return tool_error("--json applies to the summary and --preview, not to --extract"), -1;
        if (!c->options.extract_dir[0]) return tool_error("--extract needs a directory"), -1;
        if (c->dilate_given && c->options.format == DUMP_KEEP)
            return tool_error("--dilate needs decoded frames: give --format png, pgm-ppm, npy or coco-rle"), -1;
        if (c->threshold_given && !c->masks.coco_rle) return tool_error("--threshold applies only to --format coco-rle"), -1;
        return 0;
    }
    if (c->format_given || c->nselect || c->jobs_given || c->bgr_given || c->dilate_given || c->threshold_given)
        return tool_error("--format, --select, --jobs, --bgr, --dilate and --threshold apply only with --extract"), -1;
    return 0;
}

static int parse_command_line(struct command *c, int argc, char **argv)
{
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":x:f:s:j:p:vqhV", long_options, NULL)) != -1) {
        if (opt == '?' || opt == ':') {
            const char *which = argv[optind - 1];
            tool_error(opt == ':' ? "option '%s' needs a value" : "unknown option '%s'", which);
            fputs(usage_text, stderr);
            return TOOL_EXIT_FAILURE;
        }
        int result = parse_option(c, opt);
        if (result >= 0) return result;
    }
    if (argc - optind != 1) {
        tool_error(argc == optind ? "no FILE given" : "exactly one FILE is expected");
        fputs(usage_text, stderr);
        return TOOL_EXIT_FAILURE;
    }
    c->options.file = argv[optind];
    c->options.select = c->select;
    if (!c->options.jobs) c->options.jobs = default_jobs();
    return check_combination(c) ? TOOL_EXIT_FAILURE : -1;
}

/* The innermost HDF5 error description: the outer frames only say which
 * API call failed, the last one says why. */
static herr_t last_error(unsigned n, const H5E_error2_t *e, void *data)
{
    (void)n;
    if (e->desc && *e->desc) snprintf((char *)data, 256, "%s", e->desc);
    return 0;
}

static hid_t open_file(const char *name)
{
    /* The OS's answer first: HDF5 would turn a missing file, a directory or
     * a permission problem into the same vague failure. */
    int fd = open(name, O_RDONLY);
    if (fd < 0) {
        tool_error("cannot open '%s': %s", name, strerror(errno));
        return -1;
    }
    struct stat st;
    int is_dir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
    close(fd);
    if (is_dir) {
        tool_error("cannot open '%s': %s", name, strerror(EISDIR));
        return -1;
    }
    htri_t hdf5 = H5Fis_hdf5(name);
    if (hdf5 == 0) {
        tool_error("cannot open '%s': not an HDF5 file", name);
        return -1;
    }
    hid_t file = hdf5 > 0 ? H5Fopen(name, H5F_ACC_RDONLY, H5P_DEFAULT) : H5I_INVALID_HID;
    if (file < 0) {
        char reason[256] = "HDF5 gave no reason";
        H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, last_error, reason);
        tool_error("cannot open '%s': %s", name, reason);
    }
    return file;
}

int main(int argc, char **argv)
{
    tool_init("h5imgdump");
    /* Failures are reported as our own sentences; HDF5's stack dumps would
     * bury them (the reader silences its own thread the same way). */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);

    struct command c;
    memset(&c, 0, sizeof c);
    c.options.format = DUMP_KEEP;
    c.masks.threshold = DUMP_DEFAULT_THRESHOLD;
    c.preview.tile_width = DUMP_DEFAULT_TILE_WIDTH;
    c.preview.overlay = 1;
    int result = parse_command_line(&c, argc, argv);
    if (result < 0) {
        hid_t file = open_file(c.options.file);
        if (file < 0) {
            result = TOOL_EXIT_FAILURE;
        } else {
            if (c.preview.out)
                result = dump_preview(file, &c.options, &c.preview);
            else if (c.options.extract_dir)
                result = dump_extract_masks(file, &c.options, &c.masks);
            else
                result = dump_summary(file, &c.options);
            if (H5Fclose(file) < 0 && result == TOOL_EXIT_OK) result = TOOL_EXIT_FAILURE;
        }
    }
    free(c.select);
    return result;
}
