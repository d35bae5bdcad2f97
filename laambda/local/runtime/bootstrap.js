// laambda's Node.js bootstrap: the Lambda Runtime API loop, as AWS's Node.js runtime runs it.
// GET /invocation/next, call the handler (async, promise or callback), POST the answer to
// /invocation/{id}/response or the error to /invocation/{id}/error; init errors go to
// /init/error. Console output gets Lambda's "time\trequestId\tLEVEL\tmessage" prefix.
"use strict";
const http = require("http");
const path = require("path");
const fs = require("fs");
const util = require("util");
const { pathToFileURL } = require("url");

const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(":");
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const base = "/2018-06-01/runtime";
let requestId = "";

function call(method, route, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(body);
    const request = http.request(
      { host, port, method, path: base + route, agent,
        headers: data ? { "Content-Type": "application/json", "Content-Length": data.length } : {} },
      (response) => {
        const chunks = [];
        response.on("data", (chunk) => chunks.push(chunk));
        response.on("end", () => resolve({ headers: response.headers, body: Buffer.concat(chunks) }));
      });
    request.on("error", reject);
    request.end(data);
  });
}

function log(level, args) {
  const text = util.format(...args).replace(/\n/g, "\r");
  process.stdout.write(`${new Date().toISOString()}\t${requestId}\t${level}\t${text}\n`);
}
console.log = (...args) => log("INFO", args);
console.info = (...args) => log("INFO", args);
console.warn = (...args) => log("WARN", args);
console.error = (...args) => log("ERROR", args);
console.debug = (...args) => log("DEBUG", args);
console.trace = (...args) => log("TRACE", args);

function errorShape(error) {
  if (error instanceof Error) {
    return { errorType: error.name, errorMessage: error.message,
             trace: String(error.stack || "").split("\n") };
  }
  return { errorType: typeof error, errorMessage: String(error), trace: [] };
}

async function loadHandler() {
  const handlerName = process.env._HANDLER;
  const root = process.env.LAMBDA_TASK_ROOT;
  const dot = handlerName.lastIndexOf(".");
  const modulePath = handlerName.slice(0, dot);
  const functionPath = handlerName.slice(dot + 1);
  const candidates = [".js", ".mjs", ".cjs"].map((ext) => path.resolve(root, modulePath + ext));
  const file = candidates.find((candidate) => fs.existsSync(candidate));
  if (!file) {
    const error = new Error(`Cannot find module '${modulePath}'`);
    error.name = "Runtime.ImportModuleError";
    throw error;
  }
  const loaded = await import(pathToFileURL(file).href);
  let handler = loaded;
  for (const part of functionPath.split(".")) {
    handler = handler && (handler[part] !== undefined ? handler[part] : handler.default && handler.default[part]);
  }
  if (typeof handler !== "function") {
    const error = new Error(`${handlerName} is undefined or not exported`);
    error.name = "Runtime.HandlerNotFound";
    throw error;
  }
  return handler;
}

function runHandler(handler, event, context) {
  return new Promise((resolve, reject) => {
    const callback = (error, result) => (error ? reject(error) : resolve(result));
    context.done = callback;
    context.succeed = (result) => resolve(result);
    context.fail = (error) => reject(error);
    try {
      const returned = handler(event, context, callback);
      if (returned && typeof returned.then === "function") returned.then(resolve, reject);
      else if (handler.length < 3) resolve(returned);
    } catch (error) {
      reject(error);
    }
  });
}

async function main() {
  let handler;
  try {
    handler = await loadHandler();
  } catch (error) {
    const shape = errorShape(error);
    log("ERROR", [`Uncaught Exception \t${JSON.stringify(shape)}`]);
    await call("POST", "/init/error", JSON.stringify(shape));
    process.exit(1);
  }
  for (;;) {
    const next = await call("GET", "/invocation/next");
    requestId = next.headers["lambda-runtime-aws-request-id"];
    const deadline = Number(next.headers["lambda-runtime-deadline-ms"]);
    const context = {
      awsRequestId: requestId,
      invokedFunctionArn: next.headers["lambda-runtime-invoked-function-arn"],
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => deadline - Date.now(),
    };
    let event;
    try {
      event = JSON.parse(next.body.toString("utf8") || "null");
    } catch (error) {
      event = next.body.toString("utf8");
    }
    try {
      const result = await runHandler(handler, event, context);
      await call("POST", `/invocation/${requestId}/response`,
                 result === undefined ? "null" : JSON.stringify(result));
    } catch (error) {
      const shape = errorShape(error);
      log("ERROR", [`Invoke Error \t${JSON.stringify(shape)}`]);
      await call("POST", `/invocation/${requestId}/error`, JSON.stringify(shape));
    }
  }
}

main();
