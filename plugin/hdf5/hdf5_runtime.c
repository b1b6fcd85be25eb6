/* hdf5_runtime.c: the loadable plugin's HDF5 table, filled at load time from the HDF5 library that loaded the plugin. */
#define _GNU_SOURCE /* dladdr, RTLD_DEFAULT */
#include "hdf5/hdf5_api.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static h5img_hdf5 bound_table;
static int bound; /* 1 once bound_table is complete; read with acquire ordering */
static pthread_mutex_t bind_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const function_names[] = {
#define H5IMG_NAME(type, name, parameters) #name,
    H5IMG_HDF5_FUNCTIONS(H5IMG_NAME)
#undef H5IMG_NAME
};
static const char *const id_names[] = {
#define H5IMG_ID_NAME(name) #name,
    H5IMG_HDF5_ERROR_IDS(H5IMG_ID_NAME)
#undef H5IMG_ID_NAME
};

const h5img_hdf5 *h5img_hdf5_api(void)
{
    return __atomic_load_n(&bound, __ATOMIC_ACQUIRE) ? &bound_table : NULL;
}

/* Every function and id from `handle`, or -1 naming the first one missing.
 * POSIX dlsym returns data and function addresses alike as void *. */
static int resolve_all(void *handle, const char *where, h5img_hdf5 *table, char *why, size_t why_size)
{
    void *functions[sizeof function_names / sizeof *function_names];
    for (size_t i = 0; i < sizeof function_names / sizeof *function_names; i++) {
        functions[i] = dlsym(handle, function_names[i]);
        if (!functions[i]) {
            snprintf(why, why_size, "%s has no %s, so it is not an HDF5 library h5img can use (HDF5 1.10 or newer)",
                     where, function_names[i]);
            return -1;
        }
    }
    size_t slot = 0;
#define H5IMG_TAKE_FUNCTION(type, name, parameters) memcpy(&table->name, &functions[slot++], sizeof table->name);
    H5IMG_HDF5_FUNCTIONS(H5IMG_TAKE_FUNCTION)
#undef H5IMG_TAKE_FUNCTION

    if (table->H5open() < 0) {
        snprintf(why, why_size, "H5open() of %s failed", where);
        return -1;
    }
    const hid_t *ids[sizeof id_names / sizeof *id_names];
    for (size_t i = 0; i < sizeof id_names / sizeof *id_names; i++) {
        ids[i] = dlsym(handle, id_names[i]);
        if (!ids[i]) {
            snprintf(why, why_size, "%s has no error id %s, so it is not an HDF5 library h5img can use", where,
                     id_names[i]);
            return -1;
        }
    }
    slot = 0;
#define H5IMG_TAKE_ID(name) table->name = *ids[slot++];
    H5IMG_HDF5_ERROR_IDS(H5IMG_TAKE_ID)
#undef H5IMG_TAKE_ID
    /* Not H5get_libversion(): like every API function that is not NOPUSH it
     * clears the error stack, and HDF5 1.14 and later load plugins in the
     * middle of failing calls (H5Fopen of a missing file searches the plugin
     * path for a VOL connector), whose errno entries h5py turns into
     * FileNotFoundError. The library's version string says the same and
     * reading it calls nothing. */
    const char *version_text = dlsym(handle, "H5_lib_vers_info_g");
    if (!version_text || sscanf(version_text, "HDF5 library version: %u.%u.%u", &table->version[0],
                                &table->version[1], &table->version[2]) != 3) {
        snprintf(why, why_size, "%s has no readable H5_lib_vers_info_g, so it is not an HDF5 library h5img can use",
                 where);
        return -1;
    }
    return 0;
}

/* The file holding `address`, as the dynamic loader knows it; 0 if none. */
static int file_of(const void *address, char *path, size_t path_size)
{
    Dl_info info;
    if (!address || !dladdr(address, &info) || !info.dli_fname || !info.dli_fname[0]) return 0;
    snprintf(path, path_size, "%s", info.dli_fname);
    return 1;
}

static int bind_unlocked(const void *caller, char *why, size_t why_size)
{
    char caller_path[H5IMG_HDF5_PATH_SIZE] = "";
    int caller_known = file_of(caller, caller_path, sizeof caller_path);

    if (bound) {
        if (!caller_known || strcmp(caller_path, bound_table.path) == 0) return 0;
        /* Another library whose code has no H5open is not a second HDF5. */
        void *other = dlopen(caller_path, RTLD_LAZY | RTLD_NOLOAD);
        int is_hdf5 = other && dlsym(other, "H5open");
        if (other) dlclose(other);
        if (!is_hdf5) return 0;
        snprintf(why, why_size,
                 "this copy of the plugin already serves HDF5 %u.%u.%u (%s), so it cannot also serve the HDF5 in %s: "
                 "one process loading two HDF5 libraries needs a copy of the plugin for each",
                 bound_table.version[0], bound_table.version[1], bound_table.version[2], bound_table.path, caller_path);
        return -1;
    }

    h5img_hdf5 table;
    memset(&table, 0, sizeof table);
    if (caller_known) {
        /* RTLD_NOLOAD only finds a library already loaded, and takes no new
         * one: it works for one loaded RTLD_LOCAL, which the global scope hides. */
        void *handle = dlopen(caller_path, RTLD_LAZY | RTLD_NOLOAD);
        if (handle && dlsym(handle, "H5open")) {
            int status = resolve_all(handle, caller_path, &table, why, why_size);
            dlclose(handle); /* the caller keeps it loaded for as long as it calls us */
            if (status < 0) return -1;
            snprintf(table.path, sizeof table.path, "%s", caller_path);
            goto done;
        }
        if (handle) dlclose(handle);
    }
    /* The caller is not an HDF5 library (a program calling the entry points
     * itself, say): the process's global scope is the only other honest place. */
    void *global_open = dlsym(RTLD_DEFAULT, "H5open");
    if (!global_open) {
        snprintf(why, why_size,
                 "cannot find the HDF5 library that loaded the plugin: the caller (%s) exports no HDF5 functions and "
                 "no HDF5 library is on the global symbol scope",
                 caller_known ? caller_path : "an unknown address");
        return -1;
    }
    if (!file_of(global_open, table.path, sizeof table.path)) snprintf(table.path, sizeof table.path, "global scope");
    if (resolve_all(RTLD_DEFAULT, table.path, &table, why, why_size) < 0) return -1;
done:
    bound_table = table;
    __atomic_store_n(&bound, 1, __ATOMIC_RELEASE);
    return 0;
}

int h5img_hdf5_bind(const void *caller, char *why, size_t why_size)
{
    pthread_mutex_lock(&bind_lock);
    int status = bind_unlocked(caller, why, why_size);
    pthread_mutex_unlock(&bind_lock);
    return status;
}
