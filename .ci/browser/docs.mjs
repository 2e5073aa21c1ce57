// Loads /docs in headless Chromium and checks that Swagger UI shows TMF620's
// operations, and that the page asked nothing of any other origin.
//   node docs.mjs http://127.0.0.1:PORT
import { chromium } from "playwright-core";

const origin = new URL(process.argv[2]).origin;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
let failed = 0;
const check = (ok, what) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failed += 1;
};
try {
  const page = await browser.newPage();
  const elsewhere = [];
  page.on("request", (request) => {
    if (new URL(request.url()).origin !== origin) elsewhere.push(request.url());
  });
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  await page.goto(`${origin}/docs?api=TMF620`, { waitUntil: "networkidle" });
  const list = page.locator('.opblock-get [data-path="/productOffering"]');
  await list.first().waitFor({ timeout: 30000 });
  check((await list.count()) >= 1, "TMF620 GET /productOffering is listed");
  const create = page.locator('.opblock-post [data-path="/productOffering"]');
  check((await create.count()) >= 1, "TMF620 POST /productOffering is listed");
  const title = await page.locator(".info .title").first().innerText();
  check(title.includes("Product Catalog Management"), `title: ${title.split("\n")[0]}`);
  check(elsewhere.length === 0, `no request elsewhere ${JSON.stringify(elsewhere)}`);
  check(errors.length === 0, `no script errors ${JSON.stringify(errors)}`);
  await page.screenshot({ path: process.env.SCREENSHOT || "/tmp/switchboard-docs.png" });
} catch (error) {
  check(false, String(error));
} finally {
  await browser.close();
}
console.log(`docs page: ${5 - failed} checks passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
