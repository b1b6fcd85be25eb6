/* params.c: parse and validate a stored cd_values array (count and version first). */
#include "h5img.h"

h5img_status h5img_params_from_cd(const unsigned int *cd_values, size_t cd_nelmts, h5img_params *params)
{
    if (!params) return H5IMG_E_ARGUMENT;
    if (!cd_values || cd_nelmts < 1) return H5IMG_E_CD_VALUES;
    if (cd_values[H5IMG_CD_VERSION_SLOT] > H5IMG_CD_VERSION) return H5IMG_E_CD_VERSION;
    /* Version 1 stores exactly H5IMG_CD_COUNT values: set_local refuses more, so a read does too. */
    if (cd_values[H5IMG_CD_VERSION_SLOT] == 0 || cd_nelmts != H5IMG_CD_COUNT) return H5IMG_E_CD_VALUES;

    h5img_layout *layout = &params->layout;
    layout->rule = (h5img_rule)cd_values[H5IMG_CD_RULE];
    layout->flags = cd_values[H5IMG_CD_FLAGS];
    layout->height = cd_values[H5IMG_CD_HEIGHT];
    layout->width = cd_values[H5IMG_CD_WIDTH];
    layout->channels = cd_values[H5IMG_CD_CHANNELS];
    layout->element_size = cd_values[H5IMG_CD_ELEMSIZE];
    if (layout->rule == H5IMG_RULE_AUTO) layout->rule = h5img_resolve_rule(layout->channels, layout->element_size);

    unsigned codec = cd_values[H5IMG_CD_CODEC];
    unsigned level = cd_values[H5IMG_CD_LEVEL];
    if (codec == H5IMG_CODEC_PNG) {
        if (level > 9) return H5IMG_E_CD_VALUES;
        params->level = level ? (int)level : H5IMG_DEFAULT_PNG_LEVEL;
    } else if (codec == H5IMG_CODEC_JPEG) {
        if (level > 100) return H5IMG_E_CD_VALUES;
        /* What set_local refuses for JPEG: writes of such a dataset could never succeed. */
        if (layout->element_size != 1 || layout->channels == 4 || layout->width > H5IMG_JPEG_MAX_SIDE ||
            layout->height > H5IMG_JPEG_MAX_SIDE)
            return H5IMG_E_CD_VALUES;
        params->level = level ? (int)level : H5IMG_DEFAULT_JPEG_QUALITY;
    } else {
        return H5IMG_E_CD_VALUES;
    }
    params->codec = (h5img_codec)codec;

    h5img_status status = h5img_layout_check(layout);
    return status == H5IMG_E_LIMIT ? status : status == H5IMG_OK ? H5IMG_OK : H5IMG_E_CD_VALUES;
}
