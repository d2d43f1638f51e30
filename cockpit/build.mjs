// SPDX-License-Identifier: LGPL-2.1-or-later
//
// build.mjs - bundles runbookd's Cockpit page with esbuild, from the tree and node_modules only.
//   node build.mjs OUTDIR      writes OUTDIR/runbookd.js and OUTDIR/runbookd.css
// PatternFly's fonts are not bundled: the faces Cockpit ships are taken from Cockpit's own
// static/fonts (as Cockpit's pages do); the others (variable faces, icon fonts this page does not
// use) become empty data: URLs, so that nothing is fetched from anywhere else.
import * as esbuild from 'esbuild';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.resolve(process.argv[2] || path.join(here, 'dist'));
mkdirSync(outdir, { recursive: true });

// the faces /usr/share/cockpit/static/fonts has (Cockpit 287 and later)
const cockpitFont = /^RedHat(Display|Text|Mono)-(Regular|Italic|Medium|MediumItalic|Bold|BoldItalic)\.woff2$/;

const fonts = {
    name: 'fonts',
    setup(build) {
        build.onResolve({ filter: /\.(woff2?|ttf|eot|otf)$/ }, args => {
            const base = path.basename(args.path);
            if (cockpitFont.test(base))
                return { path: `../../static/fonts/${base}`, external: true };
            return { path: base, namespace: 'no-font' };
        });
        build.onLoad({ filter: /.*/, namespace: 'no-font' }, () => ({ contents: '', loader: 'dataurl' }));
    },
};

const common = {
    bundle: true,
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
    target: ['chrome100', 'firefox100', 'safari15'],
};

await esbuild.build({
    ...common,
    entryPoints: [path.join(here, 'src', 'index.js')],
    outfile: path.join(outdir, 'runbookd.js'),
    format: 'iife',
});
await esbuild.build({
    ...common,
    entryPoints: [path.join(here, 'src', 'runbookd.css')],
    outfile: path.join(outdir, 'runbookd.css'),
    plugins: [fonts],
    loader: { '.svg': 'dataurl', '.png': 'dataurl', '.jpg': 'dataurl' },
});
for (const f of ['runbookd.js', 'runbookd.css'])
    if (!existsSync(path.join(outdir, f)))
        throw new Error(`build.mjs: ${f} was not written`);
