/* repack_report.c: the list of frames kept raw, the progress line feed, and the closing summary. */
#include "repack.h"
#include "util.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void repack_problem(struct repack_ctx *ctx, const char *path, const char *format, ...)
{
    struct repack_stats *stats = &ctx->stats;
    if (stats->problem_count == stats->problem_capacity) {
        size_t capacity = stats->problem_capacity ? stats->problem_capacity * 2 : 16;
        struct repack_problem *grown = realloc(stats->problems, capacity * sizeof *grown);
        if (!grown) return;
        stats->problems = grown;
        stats->problem_capacity = capacity;
    }
    char reason[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(reason, sizeof reason, format, args);
    va_end(args);
    stats->problems[stats->problem_count].path = strdup(path);
    stats->problems[stats->problem_count].reason = strdup(reason);
    stats->problem_count++;
    tool_verbose("%s: kept raw: %s", path, reason);
}

void repack_progress(struct repack_ctx *ctx, uint64_t bytes)
{
    ctx->stats.frame_bytes += bytes;
    tool_progress_update(ctx->stats.frames_seen, ctx->stats.frame_bytes);
}

static void print_problems(const struct repack_ctx *ctx)
{
    const struct repack_stats *stats = &ctx->stats;
    if (stats->problem_count == 0) return;
    fprintf(stderr, "%s: %zu %s kept as raw bytes:\n", tool_name(), stats->problem_count,
            stats->problem_count == 1 ? "dataset was" : "datasets were");
    for (size_t i = 0; i < stats->problem_count; i++)
        fprintf(stderr, "  %s: %s\n", stats->problems[i].path ? stats->problems[i].path : "?",
                stats->problems[i].reason ? stats->problems[i].reason : "?");
}

void repack_report(const struct repack_ctx *ctx, double seconds, uint64_t bytes_in, uint64_t bytes_out)
{
    const struct repack_stats *stats = &ctx->stats;
    print_problems(ctx);
    if (tool_verbosity() < 1) return;
    char in_text[32], out_text[32];
    tool_format_bytes(bytes_in, in_text, sizeof in_text);
    tool_format_bytes(bytes_out, out_text, sizeof out_text);
    if (ctx->opt->unpack)
        fprintf(stderr, "%s: %llu frames restored to bytes", tool_name(), (unsigned long long)stats->restored);
    else
        fprintf(stderr, "%s: %llu frames converted (%llu JPEG, %llu PNG)", tool_name(),
                (unsigned long long)(stats->converted[0] + stats->converted[1]), (unsigned long long)stats->converted[1],
                (unsigned long long)stats->converted[0]);
    fprintf(stderr, ", %llu kept raw, %llu other datasets copied, %llu groups, %llu links\n",
            (unsigned long long)stats->kept_raw, (unsigned long long)stats->copied, (unsigned long long)stats->groups,
            (unsigned long long)stats->links);
    fprintf(stderr, "%s: %s in, %s out, %.2f s\n", tool_name(), in_text, out_text, seconds);
    if (!ctx->opt->unpack) {
        const struct repack_copy_stats *copied = &ctx->output.copied;
        char kernel_text[32];
        tool_format_bytes(copied->kernel_bytes, kernel_text, sizeof kernel_text);
        uint64_t converted = stats->converted[0] + stats->converted[1];
        tool_verbose("%" PRIu64 " frames (%s) copied file to file in the kernel, %" PRIu64 " through memory",
                     copied->kernel_writes, kernel_text, converted - copied->kernel_writes);
    }
}

int repack_output_failed(struct repack_ctx *ctx)
{
    if (!ctx->output.error) return 0;
    if (!ctx->output.reported && ctx->output.error == REPACK_INPUT_SHRANK) /* the SIGBUS handler's words */
        tool_error("'%s' shrank or changed while it was being read; '%s' was not written", ctx->opt->in, ctx->opt->out);
    else if (!ctx->output.reported)
        tool_error("cannot write '%s': %s", ctx->opt->out, strerror(ctx->output.error));
    ctx->output.reported = 1;
    return 1;
}

void repack_stats_free(struct repack_stats *stats)
{
    for (size_t i = 0; i < stats->problem_count; i++) {
        free(stats->problems[i].path);
        free(stats->problems[i].reason);
    }
    free(stats->problems);
    stats->problems = NULL;
    stats->problem_count = stats->problem_capacity = 0;
}
