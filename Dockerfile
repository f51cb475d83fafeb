# The IoT Support server on Node, as one self-contained bundle (dist/node.mjs, with the API
# docs' Swagger UI files beside it in dist/swagger-ui-dist/).
#   docker build -t iot-support .
#   docker run -p 3201:3201 -v iot-data:/data -e API_TOKEN_HASHES=<hash> iot-support
# Settings come from -e or --env-file (see README, Settings); compose.yaml runs it with a broker
# and deploy/container.env.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:20-bookworm-slim
# Inside a container the server must listen on every interface to be reachable at all.
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3201 DATA_DIR=/data
WORKDIR /app
# dist/ carries every dependency (the bundle, and Swagger UI's files): nothing else from the build is needed.
COPY --from=build /src/dist/ ./dist/
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 3201
# The bundle directly (not npm): SIGTERM from `docker stop` reaches the server, which drains.
STOPSIGNAL SIGTERM
CMD ["node", "--enable-source-maps", "dist/node.mjs"]
