/* dump.c -- write the RGB pixels faceline decodes from an image (rows packed) and print
** "WIDTH HEIGHT", so human's code sees exactly the pixels faceline does. */
#include <stdio.h>
#include "faceline/fl_vision.h"
int main(int argc, char **argv)
{
	struct fl_image img;
	char err[256];
	if (argc != 3 || fl_image_load(argv[1], NULL, &img, err, sizeof err)) {
		fprintf(stderr, "dump: %s\n", argc == 3 ? err : "usage: dump IMAGE OUT.rgb");
		return 1;
	}
	FILE *f = fopen(argv[2], "wb");
	if (!f)
		return 1;
	for (int y = 0; y < img.height; y++)
		fwrite(img.data + (size_t)y * img.stride, 1, (size_t)img.width * 3, f);
	fclose(f);
	printf("%d %d\n", img.width, img.height);
	fl_image_fini(&img);
	return 0;
}
