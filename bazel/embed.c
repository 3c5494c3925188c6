/* embed NAME < file > file.c: emits `const uint8_t NAME[]` and `const size_t NAME_len`. */
#include <stdio.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: embed NAME < input > output.c\n");
    return 2;
  }
  printf("#include <stddef.h>\n#include <stdint.h>\n\nconst uint8_t %s[] = {", argv[1]);
  size_t n = 0;
  int c;
  while ((c = getchar()) != EOF) {
    printf("%s0x%02x,", n % 16 == 0 ? "\n  " : "", c);
    n++;
  }
  printf("\n};\nconst size_t %s_len = %zu;\n", argv[1], n);
  return ferror(stdin) ? 1 : 0;
}
