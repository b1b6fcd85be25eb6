/* dump_extract.c: --extract: select image datasets, read/decode them through the parallel reader, (dilate masks,) write one file per frame. */
#include "dump.h"
#include "hdf5/image_detect.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Set by SIGINT/SIGTERM: the reader stops handing out frames, workers
 * finish (and rename or remove) the files they are writing, and the tool
 * exits without leaving temporary files behind. */
static volatile sig_atomic_t interrupted;

static void on_signal(int signo)
{
    (void)signo;
    interrupted = 1;
}

static void catch_signals(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGHUP, &action, NULL);
    /* Past a file size limit (ulimit -f) a write then fails with EFBIG and
     * that frame is reported like one on a full disk; the default action
     * would kill the tool and leave its temporary files behind. */
    action.sa_handler = SIG_IGN;
    sigaction(SIGXFSZ, &action, NULL);
}

/* ------------------------------------------------------------------------- */
/* Choosing the frames                                                       */
/* ------------------------------------------------------------------------- */

struct selection {
    const dump_options *options;
    const dump_mask_options *masks;
    hid_t file;
    char **paths;
    size_t count, capacity;
    size_t not_masks; /* image datasets left out by --format coco-rle */
    int out_of_memory;
};

/* The first of the dataset's names that --select matches (the first name
 * when there is no --select), or NULL: a dataset with several hard links is
 * selected by any of them and written under the one that matched. */
static const char *selected(const dump_options *options, const char *const *names, size_t count)
{
    if (!options->select || !options->select[0]) return names[0];
    for (size_t i = 0; i < count; i++)
        for (const char *const *p = options->select; *p; p++)
            if (tool_path_match(*p, names[i])) return names[i];
    return NULL;
}

/* Repacked datasets are images by their filter; legacy candidates only when
 * their first bytes carry a PNG/JPEG signature. *mask says whether the frame
 * decodes under the mask rule: a repacked dataset whose cd_values say so, a
 * legacy one whose path has a component containing "mask" (the reader's
 * default legacy layout). */
static int is_image_dataset(hid_t file, const char *path, int *mask)
{
    *mask = 0;
    hid_t dataset = H5Dopen2(file, path, H5P_DEFAULT);
    if (dataset < 0) return 0;
    h5img_dataset_desc desc;
    int image = 0;
    if (h5img_describe_dataset(dataset, &desc) == H5IMG_OK) {
        if (desc.storage == H5IMG_STORAGE_REPACKED) {
            image = 1;
            *mask = desc.params_status == H5IMG_OK && desc.params.layout.rule == H5IMG_RULE_MASK;
        } else if (desc.storage == H5IMG_STORAGE_LEGACY) {
            /* Bytes HDF5 cannot read (a filter it lacks, a damaged chunk)
             * may well be a frame: extracting reports it as failed rather
             * than passing it over in silence. */
            h5img_status probe_status;
            image = dump_probe_legacy(dataset, &desc, NULL, &probe_status) != H5IMG_CODEC_UNKNOWN ||
                    probe_status == H5IMG_E_HDF5;
            *mask = h5img_frame_path_is_mask(path);
        }
    }
    H5Dclose(dataset);
    return image;
}

static int collect(void *user, const char *const *names, size_t count)
{
    struct selection *s = user;
    int mask = 0;
    const char *path = selected(s->options, names, count);
    if (!path || !is_image_dataset(s->file, path, &mask)) return 0;
    if (s->masks->coco_rle && !mask) {
        s->not_masks++;
        return 0;
    }
    if (s->count == s->capacity) {
        size_t capacity = s->capacity ? 2 * s->capacity : 256;
        char **grown = realloc(s->paths, capacity * sizeof *grown);
        if (!grown) return s->out_of_memory = 1;
        s->paths = grown;
        s->capacity = capacity;
    }
    if (!(s->paths[s->count] = strdup(path))) return s->out_of_memory = 1;
    s->count++;
    return 0;
}

static void free_selection(struct selection *s)
{
    for (size_t i = 0; i < s->count; i++) free(s->paths[i]);
    free(s->paths);
}

struct named_path {
    char *stem;
    size_t index;
};

static int compare_named(const void *a, const void *b)
{
    const struct named_path *x = a, *y = b;
    int c = strcmp(x->stem, y->stem);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* Datasets "7", "07" and "000007" of one group all become 000007.EXT, and
 * with several workers which one the file ends up holding would be chance.
 * The first in frame order keeps the name; each other one is reported as
 * failed and left out. Returns how many were left out, or -1 when out of
 * memory. */
static long drop_name_clashes(struct selection *s)
{
    size_t total = s->count;
    struct named_path *names = calloc(total ? total : 1, sizeof *names);
    if (!names) return -1;
    long dropped = 0;
    for (size_t i = 0; i < total; i++) {
        names[i].index = i;
        if (!(names[i].stem = dump_output_stem(s->paths[i]))) dropped = -1;
    }
    if (dropped == 0) {
        qsort(names, total, sizeof *names, compare_named);
        size_t first = 0;
        for (size_t i = 1; i < total; i++) {
            if (strcmp(names[i].stem, names[first].stem) != 0) {
                first = i;
                continue;
            }
            tool_error("%s: would be written to the same file as %s (%s); not extracted", s->paths[names[i].index],
                       s->paths[names[first].index], names[first].stem);
            free(s->paths[names[i].index]);
            s->paths[names[i].index] = NULL;
            dropped++;
        }
        size_t kept = 0;
        for (size_t i = 0; i < total; i++)
            if (s->paths[i]) s->paths[kept++] = s->paths[i];
        s->count = kept;
    }
    for (size_t i = 0; i < total; i++) free(names[i].stem);
    free(names);
    return dropped;
}

/* ------------------------------------------------------------------------- */
/* Writing and reporting                                                     */
/* ------------------------------------------------------------------------- */

struct run {
    const dump_options *options;
    const dump_mask_options *masks;
    size_t done, failed, written;
    uint64_t bytes;
};

static char *target_path(const struct run *run, const h5img_frame *frame, char *message, size_t message_size)
{
    if (run->masks->coco_rle) return dump_rle_output_path(run->options->extract_dir, frame, message, message_size);
    return dump_output_path(run->options->extract_dir, frame, run->options->format, message, message_size);
}

/* Worker side: dilate a mask if asked, name the file and write it
 * (encoding first if needed). Only mask-rule output is dilated: colour
 * frames pass through as they are. */
static h5img_status write_frame(void *user, h5img_frame *frame, char *message, size_t message_size)
{
    const struct run *run = user;
    char *target = target_path(run, frame, message, message_size);
    if (!target) return H5IMG_E_UNSUPPORTED;
    h5img_status status = H5IMG_OK;
    const h5img_layout *l = &frame->layout;
    if (run->masks->dilate > 1 && l->rule == H5IMG_RULE_MASK && l->channels == 1 && l->element_size == 1 &&
        frame->pixels)
        status = h5img_dilate(frame->pixels, frame->pixels, l->height, l->width, run->masks->dilate, message,
                              message_size);
    if (status == H5IMG_OK)
        status = run->masks->coco_rle ? dump_write_rle(target, frame, run->masks->threshold, message, message_size)
                                      : dump_write_frame(target, frame, run->options->format, message, message_size);
    free(target);
    return status;
}

/* Reading thread, in frame order: report failures, count, show progress. */
static int report_frame(void *user, const h5img_frame *frame)
{
    struct run *run = user;
    run->done++;
    run->bytes += frame->encoded_size;
    if (frame->status != H5IMG_OK) {
        run->failed++;
        tool_error("%s: %s", frame->path, frame->message[0] ? frame->message : h5img_strerror(frame->status));
    } else {
        run->written++;
        if (tool_verbosity() >= 2) {
            char message[64];
            char *target = target_path(run, frame, message, sizeof message);
            tool_verbose("%s -> %s", frame->path, target ? target : "?");
            free(target);
        }
    }
    tool_progress_update(run->done, run->bytes);
    return interrupted != 0;
}

/* `left_out` frames were already reported as failed (drop_name_clashes). */
static int run_reader(hid_t file, const dump_options *options, struct selection *s, size_t left_out)
{
    struct run run = {options, s->masks, 0, left_out, 0, 0};
    h5img_reader_options ro;
    h5img_reader_options_init(&ro);
    ro.mode = options->format == DUMP_KEEP && !s->masks->coco_rle ? H5IMG_READ_RAW : H5IMG_READ_DECODE;
    ro.threads = options->jobs;
    /* Legacy frames decode as h5imgrepack would store them by default
     * (RGB), so extracting before or after a repack gives the same arrays;
     * --bgr matches h5imgrepack --bgr and cv2.imdecode. */
    ro.legacy_flags = options->bgr ? H5IMG_FLAG_BGR : 0;
    ro.work = write_frame;
    ro.user = &run;
    h5img_reader *reader = h5img_reader_new(&ro);
    if (!reader) {
        tool_error("cannot set up the reader (out of memory)");
        return TOOL_EXIT_FAILURE;
    }
    dump_write_init();
    catch_signals();
    tool_progress_start("extract", s->count);
    h5img_status status = h5img_reader_run(reader, file, (const char *const *)s->paths, s->count, report_frame);
    tool_progress_finish();
    if (status != H5IMG_OK) tool_error("%s", h5img_reader_message(reader));
    h5img_reader_free(reader);

    tool_verbose("%zu frame(s) written, %zu failed, under %s", run.written, run.failed, options->extract_dir);
    if (status != H5IMG_OK) return TOOL_EXIT_FAILURE;
    if (interrupted) {
        tool_error("interrupted after %zu of %zu frame(s); files written so far are complete", run.done, s->count);
        return TOOL_EXIT_FAILURE;
    }
    if (run.failed) {
        tool_warning("%zu of %zu frame(s) failed", run.failed, s->count + left_out);
        return TOOL_EXIT_PARTIAL;
    }
    return TOOL_EXIT_OK;
}

int dump_extract(hid_t file, const dump_options *options)
{
    return dump_extract_masks(file, options, NULL);
}

/* Whether DIR can hold the output, checked before any frame is read: a
 * DIR that is a regular file (or lies under one) would otherwise fail
 * every frame with the same error. Missing levels are fine, they are
 * created as frames are written; the deepest existing one must be a
 * directory we may write in. Returns 0, or -1 after one error. */
static int check_extract_dir(const char *dir)
{
    size_t len = strlen(dir);
    char *path = malloc(len + 1);
    if (!path) return tool_error("out of memory"), -1;
    memcpy(path, dir, len + 1);
    int err = 0;
    for (;;) {
        while (len > 1 && path[len - 1] == '/') path[--len] = '\0';
        struct stat st;
        if (stat(path, &st) == 0) {
            if (!S_ISDIR(st.st_mode)) err = ENOTDIR;
            else if (access(path, W_OK | X_OK) != 0) err = errno;
            break;
        }
        if (errno != ENOENT) {
            err = errno;
            break;
        }
        char *slash = strrchr(path, '/');
        if (!slash) break; /* nothing of it exists: created under the working directory */
        len = slash == path ? 1 : (size_t)(slash - path);
        path[len] = '\0';
    }
    free(path);
    if (!err) return 0;
    tool_error("cannot use '%s' as the output directory: %s", dir, strerror(err));
    return -1;
}

int dump_extract_masks(hid_t file, const dump_options *options, const dump_mask_options *masks)
{
    if (check_extract_dir(options->extract_dir)) return TOOL_EXIT_FAILURE;
    static const dump_mask_options none = {0, 0, DUMP_DEFAULT_THRESHOLD};
    struct selection s = {options, masks ? masks : &none, file, NULL, 0, 0, 0, 0};
    if (dump_walk_names(file, collect, &s) < 0) {
        tool_error("cannot walk the objects of %s", options->file);
        free_selection(&s);
        return TOOL_EXIT_FAILURE;
    }
    if (s.out_of_memory) {
        tool_error("out of memory while listing datasets");
        free_selection(&s);
        return TOOL_EXIT_FAILURE;
    }
    int result = TOOL_EXIT_OK;
    if (s.not_masks) tool_verbose("%zu frame(s) are not masks: no COCO RLE written for them", s.not_masks);
    if (s.count == 0 && options->select && options->select[0]) {
        tool_error("no %s dataset of %s matches the --select pattern(s)", s.masks->coco_rle ? "mask" : "image",
                   options->file);
        result = TOOL_EXIT_FAILURE;
    } else if (s.count == 0 && s.masks->coco_rle) {
        tool_warning("%s holds no mask frames; nothing extracted", options->file);
    } else if (s.count == 0) {
        tool_warning("%s holds no image datasets; nothing extracted", options->file);
    } else {
        dump_sort_paths(s.paths, s.count);
        tool_verbose("%zu frame(s) selected, %u worker thread(s)", s.count, options->jobs);
        long clashes = drop_name_clashes(&s);
        if (clashes < 0) {
            tool_error("out of memory while naming the output files");
            result = TOOL_EXIT_FAILURE;
        } else {
            result = run_reader(file, options, &s, (size_t)clashes);
        }
    }
    free_selection(&s);
    return result;
}
