/* vol_rules.c: the info string's rule overrides (rules=PATTERN:RULE,...) and the rule each frame's path gets. */
#include "hdf5/image_detect.h"
#include "hdf5/vol/vol_internal.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


struct rule_entry {
    char *pattern;
    h5img_rule rule;
};

struct h5img_vol_rules {
    int references;
    size_t count;
    struct rule_entry entries[];
};

static int rule_named(const char *name, size_t length, h5img_rule *rule)
{
    static const struct {
        const char *name;
        h5img_rule rule;
    } names[] = {{"native", H5IMG_RULE_NATIVE}, {"color", H5IMG_RULE_COLOR}, {"colour", H5IMG_RULE_COLOR},
                 {"mask", H5IMG_RULE_MASK},     {"luma", H5IMG_RULE_LUMA},   {"keep", H5IMG_VOL_RULE_KEEP}};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        if (strlen(names[i].name) == length && strncmp(names[i].name, name, length) == 0) {
            *rule = names[i].rule;
            return 1;
        }
    }
    return 0;
}

static void free_rules(h5img_vol_rules *rules)
{
    for (size_t i = 0; i < rules->count; i++) free(rules->entries[i].pattern);
    free(rules);
}

int h5img_vol_rules_parse(const char *text, h5img_vol_rules **result, char *why, size_t why_size)
{
    *result = NULL;
    if (!text || !*text) return 0;
    size_t items = 1;
    for (const char *s = text; *s; s++) items += *s == ',';
    h5img_vol_rules *rules = calloc(1, sizeof *rules + items * sizeof rules->entries[0]);
    if (!rules) {
        snprintf(why, why_size, "out of memory for %zu rules", items);
        return -1;
    }
    rules->references = 1;
    const char *item = text;
    for (size_t i = 0; i < items; i++) {
        const char *end = strchr(item, ',');
        if (!end) end = item + strlen(item);
        const char *colon = NULL;
        for (const char *s = item; s < end; s++)
            if (*s == ':') colon = s;
        h5img_rule rule;
        if (!colon || colon == item || !rule_named(colon + 1, (size_t)(end - colon - 1), &rule)) {
            snprintf(why, why_size,
                     "rule \"%.*s\" is not PATTERN:RULE with RULE one of native, color, mask, luma, keep",
                     (int)(end - item > 80 ? 80 : end - item), item);
            free_rules(rules);
            return -1;
        }
        while (*item == '/') item++; /* a leading "/" means nothing: paths are matched from the root */
        size_t length = (size_t)(colon - item);
        struct rule_entry *entry = &rules->entries[rules->count];
        if (!(entry->pattern = malloc(length + 1))) {
            snprintf(why, why_size, "out of memory for rule patterns");
            free_rules(rules);
            return -1;
        }
        memcpy(entry->pattern, item, length);
        entry->pattern[length] = '\0';
        entry->rule = rule;
        rules->count++;
        item = *end ? end + 1 : end;
    }
    *result = rules;
    return 0;
}

h5img_vol_rules *h5img_vol_rules_ref(h5img_vol_rules *rules)
{
    if (rules) __atomic_add_fetch(&rules->references, 1, __ATOMIC_RELAXED);
    return rules;
}

void h5img_vol_rules_unref(h5img_vol_rules *rules)
{
    if (rules && __atomic_sub_fetch(&rules->references, 1, __ATOMIC_ACQ_REL) == 0) free_rules(rules);
}

/* '*' and '?' stay inside one path component, as in h5imgrepack --rule;
 * a pattern holding "**" lets them cross '/'. */
static int path_matches(const char *pattern, const char *path)
{
    while (*path == '/') path++;
    return fnmatch(pattern, path, strstr(pattern, "**") ? 0 : FNM_PATHNAME) == 0;
}

h5img_rule h5img_vol_rule_for(const h5img_vol_rules *rules, const char *path)
{
    for (size_t i = rules ? rules->count : 0; i-- > 0;)
        if (path_matches(rules->entries[i].pattern, path)) return rules->entries[i].rule;
    return h5img_frame_default_rule(path);
}
